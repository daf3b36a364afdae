"""Llama 3.1 / 3.2 / 3.3 JSON tool calls: a JSON object with ``name`` and ``parameters``,
either as the whole answer or after the ``<|python_tag|>`` token, several separated by ``;``::

    {"name": "get_weather", "parameters": {"city": "Paris"}}
    <|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": ...}

``"arguments"`` is accepted for ``"parameters"``. A bare object counts as a call only at the
start of the answer (after whitespace) and only while its keys are among ``name``,
``parameters``, ``arguments`` and ``type``, so an answer that is JSON but not a call is
released as content as soon as a key shows it. What follows the calls (other than ``;``
and whitespace) is content. Built-in tools that Llama writes as code after ``<|python_tag|>``
(``brave_search.call(query="...")``) are not JSON calls: they are content.

Detection: the template writes ``<|python_tag|>`` or "Environment: ipython" (Meta's Llama 3.1+
templates do). The grammar forces bare JSON (``<|python_tag|>`` is not written: Meta's templates
ask for JSON calls without it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelport.structured.tools import grammars
from modelport.structured.tools.streaming import CallObject, Read, TextFormat, TextStream
from modelport.types import ToolDefinition

TAG = "<|python_tag|>"
BARE_KEYS = ("name", "parameters", "arguments", "type")
SEPARATORS = " \t\r\n;"


class Llama3Stream(TextStream):
    def __init__(self, tools: Sequence[ToolDefinition]) -> None:
        super().__init__(tools)
        # start | text | tagged (after TAG) | call | between (after a call) | drop (broken)
        self._state = "start"
        self._call: CallObject | None = None
        self._released = ""  # what becomes content too if the call turns out not to be one

    def _advance(self, final: bool) -> None:
        while True:
            if self._state == "text":
                if not self.content_until(TAG, final=final):
                    return
                self._state = "tagged"
            elif self._state in ("start", "tagged"):
                at = self.first_non_space()
                if at is None:
                    if final:
                        self.out.content(TAG if self._state == "tagged" else "")
                        self.out.content(self.buffer)
                        self.buffer = ""
                    return
                if self.buffer[at] != "{":
                    self.out.content(TAG if self._state == "tagged" else "")
                    self._state = "text"
                    continue
                if self._state == "start":  # a bare call: the whitespace before it is content
                    self._released = ""
                    self.out.content(self.buffer[:at])
                else:
                    self._released = TAG + self.buffer[:at]
                self.buffer = self.buffer[at:]
                keys = BARE_KEYS if self._state == "start" else None
                self._call = CallObject(self.out, self.tool_names, keys=keys)
                self._state = "call"
            elif self._state == "call":
                assert self._call is not None
                read = self._call.read(self.buffer, final=final)
                if read is Read.WAIT:
                    return
                if read is Read.NOT_A_CALL:
                    self.out.content(self._released)
                    self._state = "text"
                elif read is Read.DONE:
                    self.buffer = self.buffer[self._call.end :]
                    self._state = "between"
                else:
                    self.buffer, self._state = "", "drop"
            elif self._state == "between":  # after a call: "; ", another call, or content
                self.buffer = self.buffer.lstrip(SEPARATORS)
                if not self.buffer:
                    return
                if self.buffer.startswith("{"):
                    self._state = "start"
                elif self.buffer.startswith(TAG):
                    self.buffer = self.buffer[len(TAG) :]
                    self._state = "tagged"
                elif TAG.startswith(self.buffer) and not final:
                    return
                else:
                    self._state = "text"
            else:  # drop
                self.buffer = ""
                return


class Llama3JsonFormat(TextFormat):
    name = "llama3_json"
    markers = (TAG,)

    def detects(self, chat_template: str) -> bool:
        return TAG in chat_template or "Environment: ipython" in chat_template

    def stream(self, tools: Sequence[ToolDefinition]) -> Llama3Stream:
        return Llama3Stream(tools)

    def grammar(
        self,
        tools: Sequence[ToolDefinition],
        *,
        parallel: bool,
        marker_tokens: Mapping[str, int] | None = None,
    ) -> str:
        def call(tool: ToolDefinition, arguments: str) -> str:
            return grammars.json_call(tool, arguments, key="parameters")

        start = grammars.repeated("call", '"; "', parallel=parallel)
        return grammars.calls_grammar(start, tools, call)


tool_format = Llama3JsonFormat()
