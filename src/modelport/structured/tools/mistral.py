"""Mistral: calls after the ``[TOOL_CALLS]`` token, in either of Mistral's two forms::

    [TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": ...}]
    [TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[ARGS]{}

The JSON-array form is that of Mistral 7B v0.3, Mixtral 8x22B, Nemo and Small up to 3.1; the
``name[ARGS]{...}`` form (tokenizer v11 and later: Small 3.2, Devstral, Magistral) may also carry
``[CALL_ID]<id>`` between the name and ``[ARGS]`` (the id is replaced by a fresh one, as every
id is). Content may come before ``[TOOL_CALLS]`` and after the calls.

Detection: the template writes ``[TOOL_CALLS]`` or ``[AVAILABLE_TOOLS]``. The grammar allows
both forms after ``[TOOL_CALLS]``: the model writes the one it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelport.structured.tools import grammars
from modelport.structured.tools.streaming import (
    CallList,
    CallObject,
    Read,
    TextFormat,
    TextStream,
)
from modelport.types import ToolDefinition

TOOL_CALLS = "[TOOL_CALLS]"
ARGS = "[ARGS]"
CALL_ID = "[CALL_ID]"


class MistralStream(TextStream):
    def __init__(self, tools: Sequence[ToolDefinition]) -> None:
        super().__init__(tools)
        # text | marker (after [TOOL_CALLS]) | list | name | arguments | drop
        self._state = "text"
        self._list: CallList | None = None
        self._call: CallObject | None = None

    def _advance(self, final: bool) -> None:
        while self._step(final):
            pass

    def _step(self, final: bool) -> bool:
        """One move of the state machine; False when it needs more text."""
        if self._state == "text":
            if not self.content_until(TOOL_CALLS, final=final):
                return False
            self._state = "marker"
        elif self._state == "marker":
            at = self.first_non_space()
            if at is None:
                if final:
                    self._not_a_call()
                return final
            if self.buffer[at] == "[":
                self._list = CallList(self)
                self._list.held = self.buffer[: at + 1]
                self.buffer = self.buffer[at + 1 :]
                self._state = "list"
            else:
                self._state = "name"
        elif self._state == "list":
            assert self._list is not None
            read = self._list.advance(final)
            if read is Read.WAIT:
                return False
            if read is Read.NOT_A_CALL:
                self.out.content(TOOL_CALLS + self._list.held)
                self._state = "text"
            else:
                self._state = "text" if read is Read.DONE else "drop"
        elif self._state == "name":
            return self._read_name(final)
        elif self._state == "arguments":
            assert self._call is not None
            at = self.first_non_space()
            if at is None and not final:
                return False
            at = at or 0
            read = self._call.read(self.buffer[at:], final=final)
            if read is Read.WAIT:
                return False
            if read is Read.DONE:
                self.buffer = self.buffer[at + self._call.end :]
                self._state = "text"
            else:
                self._state = "drop"
        else:  # drop
            self.buffer = ""
            return False
        return True

    def _read_name(self, final: bool) -> bool:
        found = self.buffer.find(ARGS)
        if found >= 0:
            name, rest = _name_and_rest(self.buffer[:found])
            if name in self.tool_names and (not rest or rest.startswith(CALL_ID)):
                self.buffer = self.buffer[found + len(ARGS) :]
                self._call = CallObject(self.out, self.tool_names, name=name)
                self._state = "arguments"
                return True
        elif not final and self._could_be_name(self.buffer):
            return False
        self._not_a_call()
        return True

    def _could_be_name(self, head: str) -> bool:
        """Whether ``head`` (the text after ``[TOOL_CALLS]``, no ``[ARGS]`` yet) may still
        become ``name[ARGS]`` or ``name[CALL_ID]id[ARGS]``."""
        name, rest = _name_and_rest(head)
        if rest or head != head.rstrip():  # the name is over
            ahead = ARGS.startswith(rest) or CALL_ID.startswith(rest) or rest.startswith(CALL_ID)
            return name in self.tool_names and ahead
        return any(tool.startswith(name) for tool in self.tool_names)

    def _not_a_call(self) -> None:
        self.out.content(TOOL_CALLS)
        self._state = "text"


def _name_and_rest(head: str) -> tuple[str, str]:
    """``head`` split at its first ``[``: the name (without whitespace around it), the rest."""
    bracket = head.find("[")
    if bracket < 0:
        return head.strip(), ""
    return head[:bracket].strip(), head[bracket:]


class MistralFormat(TextFormat):
    name = "mistral"
    markers = (TOOL_CALLS, ARGS)

    def detects(self, chat_template: str) -> bool:
        return TOOL_CALLS in chat_template or "[AVAILABLE_TOOLS]" in chat_template

    def stream(self, tools: Sequence[ToolDefinition]) -> MistralStream:
        return MistralStream(tools)

    def grammar(
        self,
        tools: Sequence[ToolDefinition],
        *,
        parallel: bool,
        marker_tokens: Mapping[str, int] | None = None,
    ) -> str:
        tool_calls = grammars.marker(TOOL_CALLS, marker_tokens)
        args = grammars.marker(ARGS, marker_tokens)
        listed = '"[" ' + grammars.repeated("call", '","', parallel=parallel) + ' "]"'
        named = grammars.repeated("named", tool_calls, parallel=parallel)
        lines = [
            grammars.calls_grammar(f"{tool_calls} ({listed} | {named})", tools, grammars.json_call)
        ]
        alternatives = " | ".join(
            f"{grammars.text(tool.function.name)} {args} args_{i}" for i, tool in enumerate(tools)
        )
        lines.append(f"named: {alternatives}\n")
        return "".join(lines)


tool_format = MistralFormat()
