"""Tools on a transformers chat model: which format its calls take, how the tools reach the
prompt, what forces a call, and how the output becomes ``tool_calls``.

A package's format is decided once, at load (:func:`resolve_format`): the ``tool_call_format``
load option (``--tool-call-format``), else ``model_config["tool_call_format"]``, else the one the
chat template's telltales show (``modelport.structured.tools.detect_format``). A template that
takes tools in a known format gets them natively; any other model (the demo's template takes
none) is given the tools in the generic system message and answers in the generic JSON format.

Per request (:func:`plan`): ``tool_choice: "none"`` or no tools, nothing; ``"auto"``, the model
may call and its calls are parsed; ``"required"`` or a named function, the output is
constrained by the format's grammar to calls of the allowed tools whose arguments validate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelport.errors import PackageError, UnsupportedFeatureError
from modelport.flavors.transformers.template import template_accepts_tools, template_source
from modelport.structured.tools import (
    ToolCallFormat,
    check_tools,
    detect_format,
    forced_tools,
    generic_conversation,
    get_format,
)
from modelport.types import ChatMessage, ChatParams, ToolDefinition

GENERIC = "generic"


@dataclass(frozen=True)
class ToolSupport:
    """How one loaded model takes tools: its format, and whether its template renders them."""

    format: ToolCallFormat
    native: bool

    def describe(self) -> str:
        where = "the chat template's own" if self.native else "the generic system message"
        return f"{self.format.name} (tools given through {where})"


def resolve_format(tokenizer: Any, chosen: str | None) -> ToolSupport:
    """The model's tool-call format: ``chosen`` (option or package config), else detected."""
    takes_tools = template_accepts_tools(tokenizer)
    if chosen is not None:
        fmt = get_format(chosen)
        if fmt.name != GENERIC and not takes_tools:
            raise PackageError(
                f"tool_call_format {fmt.name!r} needs a chat template that takes tools, and this "
                "model's does not; leave it out (the generic format is used) or give a template"
            )
        return ToolSupport(fmt, native=fmt.name != GENERIC)
    detected = detect_format(template_source(tokenizer, with_tools=True)) if takes_tools else None
    if detected is None or detected.name == GENERIC:
        # a template that takes tools in a format we cannot read is given ours instead
        return ToolSupport(get_format(GENERIC), native=False)
    return ToolSupport(detected, native=True)


@dataclass(frozen=True)
class ToolPlan:
    """What one request's tools change: the conversation, the constraint, the parsing."""

    support: ToolSupport
    tools: list[ToolDefinition]
    messages: list[ChatMessage]
    grammar: str | None  # forced calls; None with tool_choice "auto"
    parallel: bool = True  # False: only the first call is kept (parallel_tool_calls: false)

    @property
    def template_tools(self) -> list[dict[str, Any]] | None:
        return [tool.to_dict() for tool in self.tools] if self.support.native else None


def plan(
    support: ToolSupport,
    tokenizer: Any,
    messages: Sequence[ChatMessage],
    params: ChatParams,
) -> ToolPlan | None:
    """The request's tool plan, None when it uses no tools (after checking them: a 400 names
    a bad tool, a bad ``tool_choice`` or a non-boolean ``parallel_tool_calls``)."""
    check_tools(params.tools, params.tool_choice, params.parallel_tool_calls)
    if not params.tools or params.tool_choice == "none":
        return None
    if params.response_format is not None and params.response_format.type != "text":
        raise UnsupportedFeatureError(
            "response_format cannot be combined with tools yet (the answer is either calls or "
            "text); send one or the other",
            param="response_format",
        )
    tools = list(params.tools)
    parallel = params.parallel_tool_calls is not False
    forced = forced_tools(tools, params.tool_choice)
    grammar = None
    if forced:
        grammar = support.format.grammar(
            forced, parallel=parallel, marker_tokens=marker_tokens(tokenizer, support.format)
        )
    rendered = list(messages)
    if not support.native:
        rendered = generic_conversation(messages, tools, params.tool_choice, parallel=parallel)
    return ToolPlan(support, tools, rendered, grammar, parallel)


def history_for_template(
    support: ToolSupport, messages: Sequence[ChatMessage], params: ChatParams
) -> list[ChatMessage]:
    """A conversation that uses no tools now but carries earlier calls and results: for a
    model without native tools, rewritten in the generic format's words (the model is told
    not to call), so that the calls and results are not lost on a template that takes none."""
    if support.native or not any(m.role == "tool" or m.tool_calls for m in messages):
        return list(messages)
    return generic_conversation(messages, list(params.tools or []), "none")


def marker_tokens(tokenizer: Any, fmt: ToolCallFormat) -> dict[str, int]:
    """The format's markers that are one token of this tokenizer (``<tool_call>`` in Qwen):
    the grammar then writes that token, as the model was trained to, not the text's pieces."""
    found: dict[str, int] = {}
    for marker in fmt.markers:
        token = tokenizer.convert_tokens_to_ids(marker)
        if isinstance(token, int) and tokenizer.convert_ids_to_tokens(token) == marker:
            found[marker] = token
    return found
