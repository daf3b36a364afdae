"""Pieces of the llguidance (Lark) grammars that force a call: each tool's arguments as a JSON
Schema rule, text and marker literals, repetition for parallel calls.

Each tool's ``parameters`` is its own ``%json`` rule, so the schema stays the root of its
document (its ``$ref: "#/$defs/..."`` resolve as written); the text around it (the call's
``{"name":"...","arguments":`` and the format's markers) is literal. JSON is compact, without
free whitespace (small models otherwise fill it without end), which is also the normal form of
the arguments the parsers give clients (:func:`modelport.structured.tools.partial.dumps`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modelport.types import ToolDefinition

JSON_OPTIONS: dict[str, Any] = {"whitespace_flexible": False}
# OpenAI: "Omitting parameters defines a function with an empty parameter list."
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


def arguments_schema(tool: ToolDefinition) -> dict[str, Any]:
    """The JSON Schema a call's ``arguments`` must match (always an object)."""
    parameters = tool.function.parameters
    schema = dict(NO_PARAMETERS if parameters is None else parameters)
    schema.setdefault("type", "object")
    guidance = dict(JSON_OPTIONS)
    guidance.update(schema.get("x-guidance") or {})
    schema["x-guidance"] = guidance
    return schema


def text(value: str) -> str:
    """A Lark string literal matching ``value``."""
    return json.dumps(value, ensure_ascii=False)


def marker(value: str, marker_tokens: Mapping[str, int] | None) -> str:
    """``value`` as the single token the model writes it with (``<[id]>``), when
    ``marker_tokens`` has it, else as text."""
    if marker_tokens and value in marker_tokens:
        return f"<[{int(marker_tokens[value])}]>"
    return text(value)


def repeated(item: str, separator: str, *, parallel: bool) -> str:
    """One ``item``, or with ``parallel`` one or more separated by ``separator``."""
    return f"{item} ({separator} {item})*" if parallel else item


def calls_grammar(
    start: str,
    tools: Sequence[ToolDefinition],
    call: Callable[[ToolDefinition, str], str],
) -> str:
    """A grammar whose ``start`` rule refers to ``call``: one alternative per tool, each given by
    ``call(tool, arguments_rule)`` (a Lark expression using the rule that matches the tool's
    arguments)."""
    if not tools:
        raise ValueError("a grammar that forces a call needs at least one tool")
    lines = [f"start: {start}"]
    lines.append("call: " + " | ".join(f"call_{i}" for i in range(len(tools))))
    for i, tool in enumerate(tools):
        lines.append(f"call_{i}: {call(tool, f'args_{i}')}")
        lines.append(f"args_{i}: %json {json.dumps(arguments_schema(tool), ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def json_call(tool: ToolDefinition, arguments_rule: str, *, key: str = "arguments") -> str:
    """A call as a compact JSON object: ``{"name":"<tool>","<key>":<arguments>}``."""
    head = json.dumps({"name": tool.function.name}, ensure_ascii=False, separators=(",", ":"))
    return f'{text(head[:-1] + f",{json.dumps(key)}:")} {arguments_rule} "}}"'
