"""Deltas on the wire: chunks that the official openai SDK reads and joins into the calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openai.types.chat import ChatCompletionChunk as SdkChunk
from openai.types.chat import ChatCompletionMessage as SdkMessage

from modelport.structured.tools import ArgumentsDelta, ContentDelta, ToolCallStart
from modelport.structured.tools.hermes import tool_format as hermes
from modelport.types import ChatChoiceDelta, ChatChunkChoice, ChatCompletionChunk, ChatMessage

TEXT = (
    'Checking.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    '<tool_call>\n{"name": "get_time", "arguments": {"zone": "UTC"}}\n</tool_call>'
)


def test_the_first_delta_of_a_call_is_openais_and_the_rest_carry_only_arguments(
    in_pieces: Callable[..., Any],
) -> None:
    streamed = in_pieces(hermes, [TEXT[i : i + 3] for i in range(0, len(TEXT), 3)])
    wire = [d.to_wire().to_dict() for d in streamed.deltas if not isinstance(d, ContentDelta)]
    assert wire[0] == {
        "index": 0,
        "id": streamed.calls[0].id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert all(set(item) == {"index", "function"} for item in wire[1:] if "id" not in item)
    assert all(set(item["function"]) == {"arguments"} for item in wire[1:] if "id" not in item)


def test_the_openai_sdk_joins_the_chunks_into_the_calls(in_pieces: Callable[..., Any]) -> None:
    streamed = in_pieces(hermes, list(TEXT))
    content = ""
    joined: dict[int, dict[str, str]] = {}
    for delta in streamed.deltas:
        if isinstance(delta, ContentDelta):
            choice_delta = ChatChoiceDelta(content=delta.text)
        else:
            assert isinstance(delta, ToolCallStart | ArgumentsDelta)
            choice_delta = ChatChoiceDelta(tool_calls=[delta.to_wire()])
        chunk = ChatCompletionChunk(choices=[ChatChunkChoice(delta=choice_delta)]).to_dict()
        sdk = SdkChunk.model_validate(chunk).choices[0].delta
        content += sdk.content or ""
        for call in sdk.tool_calls or []:
            entry = joined.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += call.id or ""
            entry["name"] += (call.function.name or "") if call.function else ""
            entry["arguments"] += (call.function.arguments or "") if call.function else ""
    assert content == "Checking."
    assert [joined[i] for i in sorted(joined)] == [
        {"id": c.id, "name": c.name, "arguments": c.arguments} for c in streamed.calls
    ]


def test_parsed_calls_make_a_message_the_sdk_reads(in_pieces: Callable[..., Any]) -> None:
    calls = in_pieces(hermes, [TEXT]).calls
    message = ChatMessage(role="assistant", tool_calls=[c.to_wire() for c in calls]).to_dict()
    sdk = SdkMessage.model_validate(message)
    assert [(c.id, c.function.name, c.function.arguments) for c in sdk.tool_calls or []] == [
        (c.id, c.name, c.arguments) for c in calls
    ]
