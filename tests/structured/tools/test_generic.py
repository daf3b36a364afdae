"""The generic format: parsing recorded outputs, the system message, the conversation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelport.structured.tools import generic_conversation, generic_system_message
from modelport.structured.tools.generic import tool_format as generic
from modelport.types import ChatMessage, ToolDefinition

Stream = Callable[..., Any]
GUIDE = Path(__file__).parents[3] / "docs" / "tools-and-structured-outputs.md"


def test_one_call(every_way: Stream) -> None:
    text = '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}'
    streamed = every_way(generic, text)
    assert streamed.named == [("get_weather", {"city": "Paris"})]
    assert streamed.content == ""


def test_several_calls_with_whitespace_anywhere_and_content_after(every_way: Stream) -> None:
    text = (
        ' \n{ "tool_calls" : [\n  {"name": "get_weather", "arguments": {"city": "Paris"}},\n'
        '  {"name": "get_time", "arguments": {"zone": "UTC"}}\n] }\nI asked for both.'
    )
    streamed = every_way(generic, text)
    assert streamed.named == [("get_weather", {"city": "Paris"}), ("get_time", {"zone": "UTC"})]
    assert streamed.content == "I asked for both."


@pytest.mark.parametrize(
    "text",
    [
        "The weather in Paris is sunny.",
        '{"answer": "tool_calls"}',
        '{"tool_calls": []}',
        '{"tool_calls": [{"name": "send_email", "arguments": {}}]}',
        '{"tool_calls": "get_weather"}',
        'Here: {"tool_calls": [{"name": "now", "arguments": {}}]}',
        '  {"tool_ca',
        "{",
    ],
)
def test_an_answer_that_is_not_a_list_of_tool_calls_is_content(
    every_way: Stream, text: str
) -> None:
    streamed = every_way(generic, text)
    assert streamed.calls == []
    assert streamed.content == text


def test_a_leading_brace_is_held_back_until_the_key_shows(in_pieces: Stream) -> None:
    streamed = in_pieces(generic, [" {", '"tool', '_calls":[{"name":"now"', ',"arguments":{}}]}'])
    assert not any(getattr(d, "text", None) for d in streamed.deltas)
    assert streamed.named == [("now", {})]


def test_truncated_calls_are_closed_and_broken_ones_end_the_list(every_way: Stream) -> None:
    truncated = '{"tool_calls":[{"name":"search","arguments":{"query":"rain"}},{"name":"now","argu'
    assert every_way(generic, truncated).named == [("search", {"query": "rain"}), ("now", {})]
    broken = '{"tool_calls":[{"name":"now","arguments":{}} {"name":"now","arguments":{}}]}'
    assert every_way(generic, broken).named == [("now", {})]


def test_never_a_templates_native_format() -> None:
    assert not generic.detects("<tool_call>")


def test_the_system_message_lists_the_tools_and_the_format(tools: list[ToolDefinition]) -> None:
    message = generic_system_message(tools, "auto")
    assert (
        '{"name":"get_weather","description":"The current weather in a city","parameters":'
        '{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string",'
        '"enum":["celsius","fahrenheit"]}},"required":["city"],"additionalProperties":false}}'
    ) in message
    assert '{"name":"now","description":"The time now","parameters":{"type":"object"' in message
    assert '{"tool_calls":[{"name":"<tool name>","arguments":{<its arguments>}}]}' in message
    assert message.endswith("If no tool is needed, answer normally, in plain text.")


@pytest.mark.parametrize(
    ("tool_choice", "parallel", "says"),
    [
        ("required", True, "you must call at least one tool"),
        ({"type": "function", "function": {"name": "now"}}, True, "you must call the tool now"),
        ("none", True, "do not call any tool"),
        ("auto", False, "Call one tool at a time"),
    ],
)
def test_the_system_message_follows_tool_choice_and_parallel(
    tools: list[ToolDefinition], tool_choice: Any, parallel: bool, says: str
) -> None:
    assert says in generic_system_message(tools, tool_choice, parallel=parallel)


def test_the_guide_shows_the_exact_system_message(tools: list[ToolDefinition]) -> None:
    weather = tools[:1]
    assert generic_system_message(weather, "auto") in GUIDE.read_text()


def test_the_conversation_puts_tools_calls_and_results_in_plain_messages(
    tools: list[ToolDefinition],
) -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="Weather in Paris and Rome?"),
        ChatMessage.model_validate(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            }
        ),
        ChatMessage(role="tool", tool_call_id="call_1", content="sunny"),
        ChatMessage(role="tool", tool_call_id="call_2", content="rain"),
    ]
    rewritten = generic_conversation(messages, tools, "auto")
    assert [m.role for m in rewritten] == ["system", "user", "assistant", "user"]
    assert rewritten[0].text.startswith("Be brief.\n\nYou can call tools")
    assert rewritten[2].content == (
        '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}},'
        '{"name":"get_weather","arguments":{"city":"Rome"}}]}'
    )
    assert rewritten[3].content == (
        "Result of get_weather (call_1):\nsunny\n\nResult of get_weather (call_2):\nrain"
    )
    assert generic.parse(rewritten[2].text, tools)[1][1].arguments == '{"city":"Rome"}'


def test_the_conversation_without_a_system_message_starts_with_the_tools(
    tools: list[ToolDefinition],
) -> None:
    rewritten = generic_conversation([ChatMessage(role="user", content="Hi")], tools)
    assert rewritten[0].role == "system" and rewritten[0].text.startswith("You can call tools")
    assert rewritten[1:] == [ChatMessage(role="user", content="Hi")]
