"""The registry of tool-call formats.

Formats, the built-in ones included, are found through the entry-point group
``modelport.tool_formats`` (an entry ``name = "package.module:tool_format"``, the object a
:class:`~modelport.structured.tools.base.ToolCallFormat`); ``register_format`` adds one at run
time. :func:`detect_format` asks the built-ins first, in the order of ``BUILT_IN``, then the
plug-ins by name; the generic format answers for every template no other format claims.
"""

from __future__ import annotations

import importlib.metadata

from modelport.errors import InvalidRequestError
from modelport.structured.tools.base import ToolCallFormat

ENTRY_POINT_GROUP = "modelport.tool_formats"
BUILT_IN = ("hermes", "llama3_json", "mistral", "generic")
GENERIC = "generic"
_registry: dict[str, ToolCallFormat] = {}


def register_format(tool_format: ToolCallFormat) -> None:
    """Add (or replace) a format under ``tool_format.name``."""
    _registry[tool_format.name] = tool_format


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {e.name: e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def format_names() -> list[str]:
    """The names of every format installed or registered (none is imported)."""
    return sorted({*_registry, *_entry_points()})


def get_format(name: str) -> ToolCallFormat:
    """The format called ``name`` (the package config's ``tool_call_format``, the server's
    ``--tool-call-format``), importing its entry point on first use."""
    if name in _registry:
        return _registry[name]
    entry = _entry_points().get(name)
    if entry is None:
        raise InvalidRequestError(
            f"Unknown tool-call format '{name}'; installed formats: {', '.join(format_names())}",
            param="tool_call_format",
        )
    try:
        tool_format = entry.load()
    except ImportError as exc:
        raise InvalidRequestError(
            f"The tool-call format '{name}' cannot be imported: {exc}",
            param="tool_call_format",
        ) from None
    register_format(tool_format)
    return tool_format


def detect_format(chat_template: str | None) -> ToolCallFormat:
    """The native format of ``chat_template``: the first format whose ``detects`` is true,
    built-ins first; the generic format when none is (or there is no template)."""
    if chat_template:
        names = format_names()
        ordered = [n for n in BUILT_IN if n in names] + [n for n in names if n not in BUILT_IN]
        for name in ordered:
            if name == GENERIC:
                continue
            try:
                candidate = get_format(name)
            except InvalidRequestError:
                continue  # a plug-in that cannot be imported here claims no template
            if candidate.detects(chat_template):
                return candidate
    return get_format(GENERIC)
