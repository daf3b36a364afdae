"""The generic format, for models whose chat template takes no tools (the demo model's).

The tools are described in a system message (:func:`system_message`, the text is in the
guide: ``docs/tools-and-structured-outputs.md``, "The generic format"), which asks the model
to call them by answering with one JSON object and nothing else::

    {"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}

An answer whose first non-space text is ``{"tool_calls"`` (whitespace allowed between the
tokens) is calls; any other answer is content. While streaming, a leading ``{`` is held back
until it is clear whether it opens ``{"tool_calls":[``. Text after the object's closing ``}``
is content; anything else after the list of calls is dropped. The grammar forces
``{"tool_calls":[<call>]}`` (with ``parallel``, one or more calls separated by ``,``), compact.

:func:`conversation` rewrites a conversation for such a template: the tools' system message
(after the client's own system text, if any), earlier calls as the JSON the model would have
written, and tool results as user messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelport.structured.tools import grammars
from modelport.structured.tools.checks import ToolChoice, forced_name
from modelport.structured.tools.streaming import (
    CallList,
    Read,
    TextFormat,
    TextStream,
    match_opening,
)
from modelport.types import ChatMessage, ToolCall, ToolDefinition

OPENING = ("{", '"tool_calls"', ":", "[")
COMPACT = (",", ":")


class GenericStream(TextStream):
    def __init__(self, tools: Sequence[ToolDefinition]) -> None:
        super().__init__(tools)
        self._state = "start"  # start | list | close (after "]") | text | drop
        self._list: CallList | None = None
        self._opening = ""

    def _advance(self, final: bool) -> None:
        while True:
            if self._state == "start":
                at = self.first_non_space()
                if at is None:
                    if not final:
                        return
                    self._state = "text"
                    continue
                size = match_opening(self.buffer[at:], OPENING)
                if size is None and not final:
                    return
                if size is None or size < 0:
                    self._state = "text"
                    continue
                self.out.content(self.buffer[:at])
                self._opening = self.buffer[at : at + size]
                self.buffer = self.buffer[at + size :]
                self._list = CallList(self)
                self._state = "list"
            elif self._state == "list":
                assert self._list is not None
                read = self._list.advance(final)
                if read is Read.WAIT:
                    return
                if read is Read.NOT_A_CALL:
                    self.out.content(self._opening + self._list.held)
                    self._state = "text"
                else:
                    self._state = "close" if read is Read.DONE else "drop"
            elif self._state == "close":
                at = self.first_non_space()
                if at is None:
                    return
                if self.buffer[at] == "}":
                    self.buffer = self.buffer[at + 1 :]
                    self._state = "text"
                else:
                    self._state = "drop"
            elif self._state == "text":
                self.out.content(self.buffer)
                self.buffer = ""
                return
            else:  # drop
                self.buffer = ""
                return


class GenericFormat(TextFormat):
    name = "generic"
    markers = ()

    def detects(self, chat_template: str) -> bool:
        return False  # the fallback: never a template's native format

    def stream(self, tools: Sequence[ToolDefinition]) -> GenericStream:
        return GenericStream(tools)

    def grammar(
        self,
        tools: Sequence[ToolDefinition],
        *,
        parallel: bool,
        marker_tokens: Mapping[str, int] | None = None,
    ) -> str:
        calls = grammars.repeated("call", '","', parallel=parallel)
        start = f'{grammars.text("{" + json.dumps("tool_calls") + ":[")} {calls} "]}}"'
        return grammars.calls_grammar(start, tools, grammars.json_call)


tool_format = GenericFormat()


def _describe(tool: ToolDefinition) -> str:
    described: dict[str, Any] = {"name": tool.function.name}
    if tool.function.description:
        described["description"] = tool.function.description
    described["parameters"] = tool.function.parameters or grammars.NO_PARAMETERS
    return json.dumps(described, ensure_ascii=False, separators=COMPACT)


def system_message(
    tools: Sequence[ToolDefinition], tool_choice: ToolChoice = None, *, parallel: bool = True
) -> str:
    """The system message that describes ``tools`` and the generic format to the model.

    ``tool_choice`` (the request's: None, ``"auto"``, ``"required"``, ``"none"`` or a named
    function) and ``parallel`` (``parallel_tool_calls``) choose the last sentences.
    """
    listed = "\n".join(_describe(tool) for tool in tools)
    if parallel:
        how_many = "To call several tools at once, put several calls in the list."
    else:
        how_many = "Call one tool at a time: put exactly one call in the list."
    named = forced_name(tool_choice)
    if named is not None:
        when = f"In this answer you must call the tool {named}."
    elif tool_choice == "required":
        when = "In this answer you must call at least one tool."
    elif tool_choice == "none":
        when = "In this answer do not call any tool: answer in plain text."
    else:
        when = "If no tool is needed, answer normally, in plain text."
    return (
        "You can call tools (functions) to answer. These are the tools, one per line, each "
        "with its name, what it does and the JSON Schema of its arguments:\n"
        f"{listed}\n\n"
        "To call tools, answer with only a JSON object of this form, with nothing before or "
        "after it:\n"
        '{"tool_calls":[{"name":"<tool name>","arguments":{<its arguments>}}]}\n'
        f"{how_many} The results of the calls will be given to you in the next message. {when}"
    )


def calls_text(tool_calls: Sequence[ToolCall]) -> str:
    """Earlier calls as the model would have written them in the generic format."""
    calls = [
        {"name": call.function.name, "arguments": _arguments(call.function.arguments)}
        for call in tool_calls
    ]
    return json.dumps({"tool_calls": calls}, ensure_ascii=False, separators=COMPACT)


def _arguments(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def conversation(
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolDefinition],
    tool_choice: ToolChoice = None,
    *,
    parallel: bool = True,
) -> list[ChatMessage]:
    """``messages`` rewritten for a chat template that takes no tools: the tools' system
    message first (after the text of the client's own first system message, when there is
    one), assistant calls as their generic JSON (:func:`calls_text`), and each run of tool
    results as one user message: ``Result of get_weather (call_...):`` and the result."""
    instructions = system_message(tools, tool_choice, parallel=parallel)
    rewritten: list[ChatMessage] = []
    rest = list(messages)
    if rest and rest[0].role in ("system", "developer"):
        first = rest.pop(0)
        instructions = f"{first.text}\n\n{instructions}" if first.text else instructions
    rewritten.append(ChatMessage(role="system", content=instructions))
    names: dict[str, str] = {}
    results: list[str] = []
    for message in rest:
        if message.role == "tool":
            call_id = message.tool_call_id or ""
            name = names.get(call_id)
            title = f"Result of {name} ({call_id})" if name else f"Result of call {call_id}"
            results.append(f"{title}:\n{message.text}")
            continue
        if results:
            rewritten.append(ChatMessage(role="user", content="\n\n".join(results)))
            results = []
        if message.role == "assistant" and message.tool_calls:
            names.update({call.id: call.function.name for call in message.tool_calls})
            rewritten.append(ChatMessage(role="assistant", content=calls_text(message.tool_calls)))
        else:
            rewritten.append(message)
    if results:
        rewritten.append(ChatMessage(role="user", content="\n\n".join(results)))
    return rewritten
