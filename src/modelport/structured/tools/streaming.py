"""The machinery the formats share: collecting deltas, holding back text, reading one call.

A format's stream is a small state machine over a buffer of text not yet decided
(:class:`TextStream`); it decides pieces of it into content or calls through an
:class:`Output`, and reads each call written as a JSON object with a :class:`CallObject`.

The rules every format follows (the guide, ``docs/tools-and-structured-outputs.md``, says the
same to users):

- Text that might still be part of a call (a marker's beginning, a JSON object that might be a
  call) is held back. When it turns out not to be a call, it is released as content, as written.
- A call is committed once its name is complete and names one of the request's tools; before
  that, a name that is not (or cannot become) a tool's name makes the text content.
- A committed call is never taken back. If its JSON breaks after that, or the output ends
  inside it, the call is closed with the arguments read so far (completed to a JSON object),
  and the broken rest of the call is dropped.
- Content is the output with the calls cut out. When there are calls, whitespace at its end
  is dropped (content holds trailing whitespace back until more content follows), and so is
  whitespace at its start when a call comes first. An output without calls keeps every
  character.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any

from modelport.structured.tools import partial
from modelport.structured.tools.base import (
    ArgumentsDelta,
    ContentDelta,
    Delta,
    ParsedCall,
    ToolCallStart,
    new_call_id,
)
from modelport.types import ToolDefinition

ARGUMENTS_KEYS = ("arguments", "parameters")
JSON_WHITESPACE = " \t\r\n"
# Reading a prefix costs its length (partial-json-parser is pure Python): a call's text is read
# again once it has grown by 1/64, so a long call costs O(n log n), not O(n²). The fragments of
# a long call come in steps; what is decided, and the arguments they join into, are the same.
REPARSE_GROWTH = 64


class Output:
    """The deltas of one stream, and the calls it closed.

    Content is the output with the calls cut out. With calls, whitespace at its end is dropped,
    and so is whitespace at its start when a call comes first: trailing whitespace is held
    back until more content follows.
    """

    def __init__(self) -> None:
        self.calls: list[ParsedCall] = []
        self._deltas: list[Delta] = []
        self._space = ""  # trailing whitespace of the content, held back
        self._content_sent = False
        self._open: dict[int, tuple[str, str]] = {}  # index → (id, name)

    def content(self, text: str) -> None:
        text = self._space + text
        if not self._content_sent and (self.calls or self._open):
            text = text.lstrip()
        body = text.rstrip()
        self._space = text[len(body) :]
        if body:
            self._content_sent = True
            self._add(ContentDelta(body))

    def start_call(self, name: str) -> int:
        index = len(self.calls) + len(self._open)
        call_id = new_call_id()
        self._open[index] = (call_id, name)
        self._add(ToolCallStart(index, call_id, name))
        return index

    def arguments(self, index: int, fragment: str) -> None:
        if fragment:
            self._add(ArgumentsDelta(index, fragment))

    def end_call(self, index: int, arguments: str) -> None:
        call_id, name = self._open.pop(index)
        self.calls.append(ParsedCall(call_id, name, arguments))

    def end(self) -> None:
        """The output is over: whitespace held back is content unless there were calls."""
        if self._space and not self.calls:
            self._add(ContentDelta(self._space))
        self._space = ""

    def take(self) -> list[Delta]:
        deltas, self._deltas = self._deltas, []
        return deltas

    def _add(self, delta: Delta) -> None:
        last = self._deltas[-1] if self._deltas else None
        if isinstance(delta, ContentDelta) and isinstance(last, ContentDelta):
            self._deltas[-1] = ContentDelta(last.text + delta.text)
        elif (
            isinstance(delta, ArgumentsDelta)
            and isinstance(last, ArgumentsDelta)
            and last.index == delta.index
        ):
            self._deltas[-1] = ArgumentsDelta(delta.index, last.fragment + delta.fragment)
        else:
            self._deltas.append(delta)


class Read(Enum):
    """What :meth:`CallObject.read` found."""

    WAIT = "wait"  # not decided yet: more text is needed
    NOT_A_CALL = "not a call"  # nothing was sent; the text is content
    DONE = "done"  # the call is closed; ``CallObject.end`` is where its JSON ended
    BROKEN = "broken"  # the call was closed early; the rest of its text is not JSON


class _Verdict(Enum):
    WAIT = "wait"
    CALL = "call"
    NOT_A_CALL = "not a call"


def _first(value: dict[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in value:
            return value[key]
    return None


def _first_true(size: int, test: Callable[[int], bool]) -> int:
    """The smallest ``n`` in 1..``size`` with ``test(n)``, for a ``test`` that stays true once
    true and holds for ``size``."""
    low, high = 1, size
    while low < high:
        middle = (low + high) // 2
        if test(middle):
            high = middle
        else:
            low = middle + 1
    return low


class CallObject:
    """One call written as a JSON object (``{"name": ..., "arguments": {...}}``), read as its
    text grows; or, given ``name``, an arguments object alone (Mistral's ``name[ARGS]{...}``).

    ``read`` is given the whole text from the object's ``{`` each time. ``keys``, when given,
    are the only keys a call may have before it is committed (so that an answer in JSON that is
    not a call is released early).

    Every decision is the one the shortest deciding prefix of the text gives, so that how the
    text was split into pieces never changes the result: text that breaks after a call's name
    was complete is a broken call whether it came in one piece or in many.
    """

    def __init__(
        self,
        out: Output,
        tool_names: Iterable[str],
        *,
        name: str | None = None,
        keys: Iterable[str] | None = None,
    ) -> None:
        self._out = out
        self._names = frozenset(tool_names)
        self._keys = None if keys is None else frozenset(keys)
        self._writer = partial.ArgumentsWriter()
        self._bare_arguments = name is not None
        self._index = None if name is None else out.start_call(name)
        self._parsed = 0  # the length of the text last read as a prefix
        self.end = 0

    @property
    def committed(self) -> bool:
        return self._index is not None

    def read(self, text: str, *, final: bool) -> Read:
        """``final``: the text is all there will be (its end closes the call)."""
        if self._index is None:
            if not final and len(text) - self._parsed < len(text) // REPARSE_GROWTH:
                return Read.WAIT
            self._parsed = len(text)
            verdict, name = self._verdict(text)
            if verdict is _Verdict.NOT_A_CALL:
                decided = _first_true(
                    len(text), lambda n: self._verdict(text[:n])[0] is not _Verdict.WAIT
                )
                verdict, name = self._verdict(text[:decided])
            if verdict is _Verdict.NOT_A_CALL or (verdict is _Verdict.WAIT and final):
                return Read.NOT_A_CALL
            if verdict is _Verdict.WAIT:
                return Read.WAIT
            assert name is not None
            self._index = self._out.start_call(name)
        return self._read_committed(text, final)

    def _verdict(self, text: str) -> tuple[_Verdict, str | None]:
        """Whether ``text`` (the object so far) is a call, is not one, or cannot tell yet; the
        call's name."""
        try:
            done = partial.complete(text)
            value = done[0] if done else partial.prefix(text)
            whole = value if done else partial.prefix(text, partial_strings=False)
        except partial.MalformedJSON:
            return _Verdict.NOT_A_CALL, None
        if not isinstance(value, dict) or not isinstance(whole, dict):
            return _Verdict.NOT_A_CALL, None
        if self._keys is not None and not self._keys.issuperset(value):
            return _Verdict.NOT_A_CALL, None
        name = whole.get("name")
        if "name" in whole:
            known = isinstance(name, str) and name in self._names
            return (_Verdict.CALL, name) if known else (_Verdict.NOT_A_CALL, None)
        begun = value.get("name")
        if done or (begun is not None and not self._could_begin(begun)):
            return _Verdict.NOT_A_CALL, None
        return _Verdict.WAIT, None

    def _could_begin(self, name: Any) -> bool:
        return isinstance(name, str) and any(tool.startswith(name) for tool in self._names)

    def _arguments(self, value: Any) -> Any:
        if self._bare_arguments:
            return value
        return _first(value, ARGUMENTS_KEYS) if isinstance(value, dict) else None

    def _read_committed(self, text: str, final: bool) -> Read:
        try:
            done = partial.complete(text)
            if done is not None:
                value, self.end = done
                self._close(self._arguments(value))
                return Read.DONE
            if not final and len(text) - self._parsed < len(text) // REPARSE_GROWTH:
                return Read.WAIT  # a long call: read its prefix again once it has grown a bit
            self._parsed = len(text)
            value = partial.prefix(text)
        except partial.MalformedJSON:
            # the arguments as far as the text was JSON, then closed
            valid = _first_true(len(text), lambda n: not _is_json_prefix(text[:n])) - 1
            if valid > 0:
                self._update(partial.prefix(text[:valid]))
            self._close(broken=True)
            return Read.BROKEN
        self._update(value)
        if final:
            self._close(self._arguments(value))
            self.end = len(text)
            return Read.DONE
        return Read.WAIT

    def _update(self, value: Any) -> None:
        assert self._index is not None
        self._out.arguments(self._index, self._writer.update(self._arguments(value)))

    def _close(self, arguments: Any = None, *, broken: bool = False) -> None:
        assert self._index is not None
        fragment = self._writer.close_broken() if broken else self._writer.close(arguments)
        self._out.arguments(self._index, fragment)
        self._out.end_call(self._index, self._writer.text)


def _is_json_prefix(text: str) -> bool:
    try:
        partial.complete(text)
        partial.prefix(text)
    except partial.MalformedJSON:
        return False
    return True


class CallList:
    """The calls of a JSON array (``[{call}, {call}]``), read from a stream's buffer, which
    starts after the ``[``. What it consumed before the first call was committed is ``held``:
    content after all if :meth:`advance` finds that the list is not one of calls."""

    def __init__(self, stream: TextStream, *, keys: Iterable[str] | None = None) -> None:
        self._stream = stream
        self._keys = keys
        self._call: CallObject | None = None
        self._expect = "item"  # item | next (a "," or the "]")
        self._count = 0
        self.held = ""

    def advance(self, final: bool) -> Read:
        """WAIT, NOT_A_CALL (nothing was sent), DONE (after the ``]``; the buffer holds what
        follows it) or BROKEN (calls were sent; the rest is not a list of calls)."""
        stream = self._stream
        while True:
            if self._call is not None:
                read = self._call.read(stream.buffer, final=final)
                if read is Read.WAIT:
                    return read
                if read is not Read.DONE:
                    return Read.BROKEN if self._count or read is Read.BROKEN else read
                stream.buffer = stream.buffer[self._call.end :]
                self._call, self._expect = None, "next"
                self._count += 1
                continue
            at = stream.first_non_space()
            if at is None:
                if not final:
                    return Read.WAIT
                return Read.DONE if self._count else Read.NOT_A_CALL
            found = stream.buffer[at]
            if self._expect == "item" and found == "{":
                self._hold(at)
                self._call = CallObject(stream.out, stream.tool_names, keys=self._keys)
            elif self._expect == "next" and found == ",":
                self._hold(at + 1)
                self._expect = "item"
            elif self._expect == "next" and found == "]":
                stream.buffer = stream.buffer[at + 1 :]
                return Read.DONE
            else:
                return Read.BROKEN if self._count else Read.NOT_A_CALL

    def _hold(self, size: int) -> None:
        if not self._count:
            self.held += self._stream.buffer[:size]
        self._stream.buffer = self._stream.buffer[size:]


def match_opening(text: str, tokens: Sequence[str]) -> int | None:
    """How long the opening of ``text`` made of ``tokens`` (JSON punctuation and strings, with
    any whitespace between them) is; None while ``text`` is too short to tell; -1 when ``text``
    does not open that way."""
    at = 0
    for token in tokens:
        while at < len(text) and text[at] in JSON_WHITESPACE:
            at += 1
        piece = text[at : at + len(token)]
        if piece != token:
            return None if at + len(piece) == len(text) and token.startswith(piece) else -1
        at += len(token)
    return at


def partial_marker(text: str, marker: str) -> int:
    """How many characters at the end of ``text`` could begin ``marker``."""
    for size in range(min(len(text), len(marker) - 1), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0


class TextStream:
    """The base of the formats' streams: a buffer of undecided text and an :class:`Output`.

    A subclass implements ``_advance(final)``: decide as much of ``self.buffer`` as it can
    (with ``final``, all of it), moving states as it goes.
    """

    def __init__(self, tools: Sequence[ToolDefinition]) -> None:
        self.tool_names = frozenset(tool.function.name for tool in tools)
        self.out = Output()
        self.calls = self.out.calls
        self.buffer = ""

    def feed(self, text: str) -> list[Delta]:
        self.buffer += text
        self._advance(final=False)
        return self.out.take()

    def finish(self) -> list[Delta]:
        self._advance(final=True)
        self.buffer = ""
        self.out.end()
        return self.out.take()

    def _advance(self, final: bool) -> None:
        raise NotImplementedError

    def content_until(self, marker: str, *, final: bool) -> bool:
        """Send the buffer's text up to ``marker`` as content and drop the marker: True. Without
        the marker, send all but what could begin it (all, with ``final``): False."""
        found = self.buffer.find(marker)
        if found >= 0:
            self.out.content(self.buffer[:found])
            self.buffer = self.buffer[found + len(marker) :]
            return True
        keep = 0 if final else partial_marker(self.buffer, marker)
        self.out.content(self.buffer[: len(self.buffer) - keep])
        self.buffer = self.buffer[len(self.buffer) - keep :]
        return False

    def first_non_space(self) -> int | None:
        """Where the buffer's first non-space character is (None while there is none)."""
        stripped = len(self.buffer) - len(self.buffer.lstrip())
        return stripped if stripped < len(self.buffer) else None


class TextFormat:
    """The base of the built-in formats: ``parse`` is ``stream`` fed the whole text, so that a
    streamed and a whole answer always agree."""

    name: str = ""
    markers: tuple[str, ...] = ()

    def stream(self, tools: Sequence[ToolDefinition]) -> TextStream:
        raise NotImplementedError

    def parse(
        self, text: str, tools: Sequence[ToolDefinition]
    ) -> tuple[str | None, list[ParsedCall]]:
        """The content (None when the output is only calls) and the calls of a whole output."""
        stream = self.stream(tools)
        deltas = stream.feed(text) + stream.finish()
        content = "".join(d.text for d in deltas if isinstance(d, ContentDelta))
        if stream.calls and not content:
            return None, stream.calls
        return content, stream.calls

    def __repr__(self) -> str:
        return f"<tool-call format {self.name!r}>"
