"""Shared pieces of the tool-call tests: the tools of the recorded outputs, a harness that
streams an output in every way it can be split, and the demo tokenizer for llguidance."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from modelport.structured.tools import (
    ArgumentsDelta,
    ContentDelta,
    Delta,
    ParsedCall,
    ToolCallFormat,
    ToolCallStart,
)
from modelport.types import ToolDefinition

TOOLS = [
    ToolDefinition.model_validate(tool)
    for tool in [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The current weather in a city",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string"},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    },
                    "required": ["city"],
                    "additionalProperties": False,
                },
            },
        },
        {
            "type": "function",
            "function": {
                "name": "get_time",
                "description": "The time in a time zone",
                "parameters": {
                    "type": "object",
                    "properties": {"zone": {"type": "string"}},
                },
            },
        },
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": "Search the web",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string"},
                        "limit": {"type": "integer", "minimum": 1},
                        "filters": {"type": "object"},
                    },
                    "required": ["query"],
                },
            },
        },
        {"type": "function", "function": {"name": "now", "description": "The time now"}},
    ]
]

CALL_ID = re.compile(r"call_[0-9a-f]{24}")


@dataclass
class Streamed:
    """What one stream gave: its content, its calls (name, parsed arguments), the raw parts."""

    content: str
    calls: list[ParsedCall]
    deltas: list[Delta]

    @property
    def named(self) -> list[tuple[str, Any]]:
        return [(call.name, json.loads(call.arguments)) for call in self.calls]

    def result(self) -> tuple[str, list[tuple[str, str]]]:
        """What must not depend on how the output was split (ids are fresh per call)."""
        return self.content, [(call.name, call.arguments) for call in self.calls]


def check_deltas(deltas: Sequence[Delta], calls: Sequence[ParsedCall]) -> None:
    """OpenAI's delta rules: per call, one start (index in order, id, name) before its
    arguments, the fragments joining into the call's arguments; no empty piece."""
    starts: dict[int, ToolCallStart] = {}
    fragments: dict[int, str] = {}
    for delta in deltas:
        if isinstance(delta, ToolCallStart):
            assert delta.index == len(starts), "calls start in index order, once each"
            assert CALL_ID.fullmatch(delta.id)
            starts[delta.index] = delta
            fragments[delta.index] = ""
        elif isinstance(delta, ArgumentsDelta):
            assert delta.index in starts, "arguments come after their call's start"
            assert delta.fragment
            fragments[delta.index] += delta.fragment
        else:
            assert isinstance(delta, ContentDelta) and delta.text
    assert len(starts) == len(calls)
    for index, call in enumerate(calls):
        assert (starts[index].id, starts[index].name) == (call.id, call.name)
        assert fragments[index] == call.arguments
        json.loads(call.arguments)
    assert len({call.id for call in calls}) == len(calls)


def stream_pieces(
    tool_format: ToolCallFormat, pieces: Sequence[str], tools: Any = None
) -> Streamed:
    stream = tool_format.stream(TOOLS if tools is None else tools)
    deltas: list[Delta] = []
    for piece in pieces:
        deltas += stream.feed(piece)
    deltas += stream.finish()
    check_deltas(deltas, stream.calls)
    content = "".join(d.text for d in deltas if isinstance(d, ContentDelta))
    return Streamed(content, list(stream.calls), deltas)


def splits(text: str) -> list[list[str]]:
    """The whole text, every split in two, and one character at a time."""
    ways = [[text], list(text)]
    ways += [[text[:i], text[i:]] for i in range(1, len(text))]
    return ways


def stream_every_way(tool_format: ToolCallFormat, text: str, tools: Any = None) -> Streamed:
    """Stream ``text`` split in every way of :func:`splits`; each must give the same result
    (and the same as ``parse``). Returns the first."""
    first = stream_pieces(tool_format, [text], tools)
    for pieces in splits(text):
        again = stream_pieces(tool_format, pieces, tools)
        assert again.result() == first.result(), f"split {[len(p) for p in pieces][:3]}"
    content, calls = tool_format.parse(text, TOOLS if tools is None else tools)
    assert (content or "", [(c.name, c.arguments) for c in calls]) == first.result()
    assert (content is None) == (bool(calls) and not first.content)
    return first


@pytest.fixture
def every_way() -> Callable[..., Streamed]:
    return stream_every_way


@pytest.fixture
def in_pieces() -> Callable[..., Streamed]:
    return stream_pieces


@pytest.fixture(scope="session")
def lltokenizer(demo_tokenizer: Any) -> Any:
    import llguidance.hf

    return llguidance.hf.from_tokenizer(demo_tokenizer)


@pytest.fixture(scope="session")
def accepts(lltokenizer: Any) -> Callable[..., bool]:
    """``accepts(grammar, text, *, before=[ids])``: llguidance takes the text's tokens (after
    the token ids ``before``) and the grammar is then complete."""
    import llguidance

    def check(grammar: str, text: str, *, before: Sequence[int] = ()) -> bool:
        failed, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, lltokenizer)
        assert not failed and not messages, messages
        matcher = llguidance.LLMatcher(lltokenizer, grammar, log_level=0)
        assert not matcher.is_error(), matcher.get_error()
        tokens = [*before, *lltokenizer.tokenize_str(text)]
        if matcher.validate_tokens(tokens) != len(tokens):
            return False
        assert matcher.consume_tokens(tokens)
        return bool(matcher.is_accepting())

    return check


@pytest.fixture
def tools() -> list[ToolDefinition]:
    return list(TOOLS)
