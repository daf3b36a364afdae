"""The contract of a tool-call format, and the deltas a stream of model output becomes.

A format reads one choice's generated text and splits it into content and tool calls::

    class ToolCallFormat(Protocol):
        name: str                             # "hermes", "llama3_json", "mistral", "generic"
        markers: tuple[str, ...]              # marker texts its grammar writes (maybe one token each)
        detects(chat_template) -> bool        # is this the template's native format?
        stream(tools) -> ToolCallStream       # one per generated choice, fed text as decoded
        parse(text, tools) -> (content | None, [ParsedCall])   # a whole output at once
        grammar(tools, *, parallel, marker_tokens=None) -> str  # llguidance Lark, forced calls

    class ToolCallStream(Protocol):
        feed(text) -> [Delta]                 # any split of the output, in order
        finish() -> [Delta]                   # end of generation
        calls: [ParsedCall]                   # the calls closed so far, in order

A stream's deltas follow OpenAI's streaming format: per call, one :class:`ToolCallStart` (id,
name), then :class:`ArgumentsDelta` fragments that join into exactly that call's
``ParsedCall.arguments``. Text that may still turn out to be part of a call is held back, never
sent as content and taken back. ``to_wire()`` gives each as the wire type: a chunk's
``tool_calls`` item (``ChoiceDeltaToolCall``), a message's ``ToolCall``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from modelport.types import ToolCall, ToolDefinition
from modelport.types.chat import ChoiceDeltaFunctionCall, ChoiceDeltaToolCall, FunctionCall


@dataclass(frozen=True)
class ContentDelta:
    """Text of the answer (not of a call)."""

    text: str


@dataclass(frozen=True)
class ToolCallStart:
    """A call begins: its index among the choice's calls, a fresh id, the tool's name."""

    index: int
    id: str
    name: str

    def to_wire(self) -> ChoiceDeltaToolCall:
        """The chunk's ``tool_calls`` item, as OpenAI sends a call's first one."""
        function = ChoiceDeltaFunctionCall(name=self.name, arguments="")
        return ChoiceDeltaToolCall(index=self.index, id=self.id, type="function", function=function)


@dataclass(frozen=True)
class ArgumentsDelta:
    """The next piece of call ``index``'s arguments JSON."""

    index: int
    fragment: str

    def to_wire(self) -> ChoiceDeltaToolCall:
        """The chunk's ``tool_calls`` item: the index and the fragment, nothing else."""
        function = ChoiceDeltaFunctionCall(arguments=self.fragment)
        return ChoiceDeltaToolCall(index=self.index, function=function)


Delta = ContentDelta | ToolCallStart | ArgumentsDelta


@dataclass(frozen=True)
class ParsedCall:
    """One complete call. ``arguments`` is a JSON object as text, in the normal form that
    :func:`modelport.structured.tools.partial.dumps` writes."""

    id: str
    name: str
    arguments: str

    def to_wire(self) -> ToolCall:
        """The message's ``tool_calls`` item."""
        return ToolCall(id=self.id, function=FunctionCall(name=self.name, arguments=self.arguments))


def new_call_id() -> str:
    """A fresh tool-call id: ``call_`` and 24 hex digits."""
    return "call_" + uuid.uuid4().hex[:24]


class ToolCallStream(Protocol):
    calls: list[ParsedCall]

    def feed(self, text: str) -> list[Delta]: ...

    def finish(self) -> list[Delta]: ...


class ToolCallFormat(Protocol):
    name: str
    markers: tuple[str, ...]

    def detects(self, chat_template: str) -> bool: ...

    def stream(self, tools: Sequence[ToolDefinition]) -> ToolCallStream: ...

    def parse(
        self, text: str, tools: Sequence[ToolDefinition]
    ) -> tuple[str | None, list[ParsedCall]]: ...

    def grammar(
        self,
        tools: Sequence[ToolDefinition],
        *,
        parallel: bool,
        marker_tokens: Mapping[str, int] | None = None,
    ) -> str: ...
