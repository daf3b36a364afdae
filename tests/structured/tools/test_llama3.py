"""Llama 3 JSON tool calls: recorded outputs, streamed in every split."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modelport.structured.tools.llama3 import tool_format as llama3

Stream = Callable[..., Any]


def test_a_bare_json_answer_is_a_call(every_way: Stream) -> None:
    text = '{"name": "get_weather", "parameters": {"city": "Paris", "unit": "celsius"}}'
    streamed = every_way(llama3, text)
    assert streamed.named == [("get_weather", {"city": "Paris", "unit": "celsius"})]
    assert streamed.content == ""


def test_a_call_after_the_python_tag_with_content_before_it(every_way: Stream) -> None:
    text = (
        'Let me look that up.<|python_tag|>{"name": "search", "parameters": {"query": "Llama 3"}}'
    )
    streamed = every_way(llama3, text)
    assert streamed.content == "Let me look that up."
    assert streamed.named == [("search", {"query": "Llama 3"})]


def test_calls_separated_by_semicolons(every_way: Stream) -> None:
    text = (
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; '
        '{"name": "get_time", "parameters": {"zone": "Europe/Paris"}};{"name": "now", "parameters": {}}'
    )
    assert every_way(llama3, text).named == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Europe/Paris"}),
        ("now", {}),
    ]


def test_type_function_and_arguments_spellings(every_way: Stream) -> None:
    text = '  {"type": "function", "name": "get_time", "arguments": {"zone": "Asia/Tōkyō"}}\n'
    streamed = every_way(llama3, text)
    assert streamed.named == [("get_time", {"zone": "Asia/Tōkyō"})]
    assert streamed.content == ""


def test_text_after_the_calls_is_content(every_way: Stream) -> None:
    text = '{"name": "now", "parameters": {}}\n\nI asked for the time.'
    streamed = every_way(llama3, text)
    assert streamed.content == "I asked for the time."


@pytest.mark.parametrize(
    "text",
    [
        '{"answer": 42, "name": "get_time"}',  # a key no call has, before the name
        '{"name": "Alice", "age": 30}',  # a name that is no tool's
        'Sure! {"name": "now", "parameters": {}}',  # bare JSON only at the start
        '<|python_tag|>brave_search.call(query="weather in Paris")',  # a built-in tool
        "[1, 2, 3]",
        "{",
        "",
    ],
)
def test_json_that_is_not_a_call_is_content(every_way: Stream, text: str) -> None:
    streamed = every_way(llama3, text)
    assert streamed.calls == []
    assert streamed.content == text


def test_a_call_is_committed_at_its_name_and_later_keys_do_not_undo_it(every_way: Stream) -> None:
    text = '{"name": "get_weather", "city": "Paris"}'
    assert every_way(llama3, text).named == [("get_weather", {})]


def test_a_non_call_is_released_as_soon_as_a_key_shows_it(in_pieces: Stream) -> None:
    streamed = in_pieces(llama3, ['{"answer": "', "forty-two", '"}'])
    assert streamed.deltas[0].text == '{"answer": "'


def test_a_call_that_breaks_keeps_what_was_valid_and_drops_the_rest(every_way: Stream) -> None:
    text = '{"name": "search", "parameters": {"query": "x", "limit": 1O}}; {"name": "now"}'
    streamed = every_way(llama3, text)
    assert streamed.named == [("search", {"query": "x"})]
    assert streamed.content == ""


def test_detects_meta_templates() -> None:
    llama31 = (
        "{%- if builtin_tools is defined or tools is not none %}\n"
        '    {{- "Environment: ipython\\n" }}\n{%- endif %}'
        "{{- '<|python_tag|>' + tool_call.name + '.call(' }}"
    )
    llama32 = '{{- "Environment: ipython\\n" }}{{- "Cutting Knowledge Date: December 2023\\n" }}'
    assert llama3.detects(llama31) and llama3.detects(llama32)
    assert not llama3.detects("<|start_header_id|>user<|end_header_id|>")
