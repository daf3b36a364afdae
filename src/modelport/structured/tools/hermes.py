"""Hermes / Qwen: each call is a JSON object between ``<tool_call>`` and ``</tool_call>``::

    Let me look that up.
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>
    <tool_call>
    {"name": "get_time", "arguments": {"zone": "Europe/Paris"}}
    </tool_call>

Used by NousResearch's Hermes 2 Pro / Hermes 3, Qwen 2.5, Qwen 3 and the many models trained on
their templates. Content may come before a call, between calls and after the last one; text
between a call's JSON and its ``</tool_call>`` is dropped. A call's ``"arguments"`` may also be
spelled ``"parameters"``. Detection: the template writes
``<tool_call>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelport.structured.tools import grammars
from modelport.structured.tools.streaming import (
    CallObject,
    Read,
    TextFormat,
    TextStream,
    partial_marker,
)
from modelport.types import ToolDefinition

START = "<tool_call>"
END = "</tool_call>"


class HermesStream(TextStream):
    def __init__(self, tools: Sequence[ToolDefinition]) -> None:
        super().__init__(tools)
        self._state = "text"  # text | call | after (a call's JSON ended, until END)
        self._call: CallObject | None = None

    def _advance(self, final: bool) -> None:
        while True:
            if self._state == "text":
                if not self.content_until(START, final=final):
                    return
                self._state, self._call = "call", None
            elif self._state == "call":
                if not self._read_call(final):
                    return
            else:  # after: drop what follows the call's JSON, up to END
                found = self.buffer.find(END)
                if found < 0:
                    keep = 0 if final else partial_marker(self.buffer, END)
                    self.buffer = self.buffer[len(self.buffer) - keep :]
                    return
                self.buffer = self.buffer[found + len(END) :]
                self._state = "text"

    def _read_call(self, final: bool) -> bool:
        """Read the call in the buffer; True when it is decided (the state has moved on)."""
        found = self.buffer.find(END)
        if found >= 0:
            body, ended = self.buffer[:found], True
        else:
            # what might be END's beginning is not the call's text (unless it was JSON)
            keep = 0 if final else partial_marker(self.buffer, END)
            body, ended = self.buffer[: len(self.buffer) - keep], final
        start = len(body) - len(body.lstrip())
        if start == len(body):
            if not ended:
                return False
            return self._not_a_call()
        if body[start] != "{":
            return self._not_a_call()
        if self._call is None:
            self._call = CallObject(self.out, self.tool_names)
        read = self._call.read(body[start:], final=ended)
        if read is Read.WAIT:
            return False
        if read is Read.NOT_A_CALL:
            return self._not_a_call()
        # DONE or BROKEN: the call is closed; what is left up to END is dropped
        self._state = "after"
        return True

    def _not_a_call(self) -> bool:
        """The text after START is not a call: START and the text are content after all."""
        self.out.content(START)
        self._state = "text"
        return True


class HermesFormat(TextFormat):
    name = "hermes"
    markers = (START, END)

    def detects(self, chat_template: str) -> bool:
        return START in chat_template

    def stream(self, tools: Sequence[ToolDefinition]) -> HermesStream:
        return HermesStream(tools)

    def grammar(
        self,
        tools: Sequence[ToolDefinition],
        *,
        parallel: bool,
        marker_tokens: Mapping[str, int] | None = None,
    ) -> str:
        block = (
            f'{grammars.marker(START, marker_tokens)} "\\n" call "\\n" '
            f"{grammars.marker(END, marker_tokens)}"
        )
        start = grammars.repeated(f"({block})", '"\\n"', parallel=parallel)
        return grammars.calls_grammar(start, tools, grammars.json_call)


tool_format = HermesFormat()
