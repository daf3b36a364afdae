"""Mistral tool calls, both forms: recorded outputs, streamed in every split."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modelport.structured.tools.mistral import tool_format as mistral

Stream = Callable[..., Any]


def test_the_json_array_form(every_way: Stream) -> None:
    text = (
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, '
        '{"name": "get_time", "arguments": {"zone": "Europe/Paris"}}]'
    )
    streamed = every_way(mistral, text)
    assert streamed.named == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Europe/Paris"}),
    ]
    assert streamed.content == ""


def test_the_name_args_form_repeated(every_way: Stream) -> None:
    text = '[TOOL_CALLS]get_weather[ARGS]{"city": "Zürich"}[TOOL_CALLS]now[ARGS]{}'
    assert every_way(mistral, text).named == [("get_weather", {"city": "Zürich"}), ("now", {})]


def test_a_call_id_in_the_name_args_form_is_replaced(every_way: Stream) -> None:
    text = '[TOOL_CALLS]search[CALL_ID]a1B2c3D4e[ARGS]{"query": "mistral", "limit": 2}'
    streamed = every_way(mistral, text)
    assert streamed.named == [("search", {"query": "mistral", "limit": 2})]
    assert "a1B2c3D4e" not in streamed.calls[0].id


def test_content_before_the_calls_is_content(every_way: Stream) -> None:
    text = 'I will check. [TOOL_CALLS][{"name": "now", "arguments": {}}]'
    streamed = every_way(mistral, text)
    assert streamed.content == "I will check."
    assert streamed.named == [("now", {})]


@pytest.mark.parametrize(
    "text",
    [
        '[TOOL_CALLS]send_email[ARGS]{"to": "a@b.c"}',
        '[TOOL_CALLS][{"name": "send_email", "arguments": {}}]',
        "[TOOL_CALLS] []",
        "[TOOL_CALLS] get weather",
        "Use [TOOL_CALLS] to call tools, and [ARGS] for arguments.",
        "[TOOL_CALLS]",
        "Partial [TOOL_CA",
    ],
)
def test_what_is_not_a_call_of_a_tool_is_content(every_way: Stream, text: str) -> None:
    streamed = every_way(mistral, text)
    assert streamed.calls == []
    assert streamed.content == text


def test_an_unknown_tool_after_a_call_ends_the_calls(every_way: Stream) -> None:
    text = '[TOOL_CALLS][{"name": "now", "arguments": {}}, {"name": "send_email", "arguments": {}}]'
    streamed = every_way(mistral, text)
    assert streamed.named == [("now", {})]
    assert streamed.content == ""


def test_arguments_cut_short_are_closed(every_way: Stream) -> None:
    text = '[TOOL_CALLS]search[ARGS]{"query": "open wei'
    assert every_way(mistral, text).named == [("search", {"query": "open wei"})]


def test_arguments_that_are_not_an_object_are_empty(every_way: Stream) -> None:
    assert every_way(mistral, "[TOOL_CALLS]now[ARGS]").named == [("now", {})]
    assert every_way(mistral, '[TOOL_CALLS]now[ARGS]"soon"').named == [("now", {})]


def test_detects_mistral_templates() -> None:
    v3 = "{{- '[AVAILABLE_TOOLS] [' }}{%- for tool in tools %}"
    v11 = "{{- '[TOOL_CALLS]' + tool_call.function.name + '[ARGS]' + arguments }}"
    assert mistral.detects(v3) and mistral.detects(v11)
    assert not mistral.detects("[INST] {{ message['content'] }} [/INST]")


def test_whitespace_around_the_name_is_allowed(every_way: Stream) -> None:
    text = '[TOOL_CALLS] get_weather [ARGS] {"city": "Oslo"}'
    assert every_way(mistral, text).named == [("get_weather", {"city": "Oslo"})]


@pytest.mark.parametrize("text", ["[TOOL_CALLS]now[FOO][ARGS]{}", "[TOOL_CALLS]no w[ARGS]{}"])
def test_a_name_followed_by_something_else_is_content(every_way: Stream, text: str) -> None:
    assert every_way(mistral, text).content == text
