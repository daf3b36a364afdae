"""Hermes / Qwen tool calls: recorded outputs, streamed in every split."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modelport.structured.tools.hermes import tool_format as hermes

Stream = Callable[..., Any]

WEATHER = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>'
TIME = '<tool_call>\n{"name": "get_time", "arguments": {"zone": "Europe/Paris"}}\n</tool_call>'


def test_one_call_is_a_call_without_content(every_way: Stream) -> None:
    streamed = every_way(hermes, WEATHER)
    assert streamed.content == ""
    assert streamed.named == [("get_weather", {"city": "Paris", "unit": "celsius"})]
    assert hermes.parse(WEATHER, [])[0] is not None  # no tools: nothing is a call


def test_parallel_calls_keep_their_order(every_way: Stream) -> None:
    streamed = every_way(hermes, f"{WEATHER}\n{TIME}")
    assert streamed.named == [
        ("get_weather", {"city": "Paris", "unit": "celsius"}),
        ("get_time", {"zone": "Europe/Paris"}),
    ]
    assert streamed.content == ""


def test_content_before_and_after_calls_is_content_without_markers(every_way: Stream) -> None:
    text = f"I'll check the weather and the time.\n{WEATHER}\n{TIME}\nBoth are on their way."
    streamed = every_way(hermes, text)
    # the output with the calls cut out
    assert streamed.content == "I'll check the weather and the time.\n\n\nBoth are on their way."
    assert [name for name, _ in streamed.named] == ["get_weather", "get_time"]


def test_qwen3_thinking_before_a_call_is_content(every_way: Stream) -> None:
    text = (
        "<think>\nThe user wants the weather in Paris, so I call get_weather.\n</think>\n\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    )
    streamed = every_way(hermes, text)
    assert streamed.content == (
        "<think>\nThe user wants the weather in Paris, so I call get_weather.\n</think>"
    )
    assert streamed.named == [("get_weather", {"city": "Paris"})]


def test_arguments_are_compact_json_with_unicode_as_is(every_way: Stream) -> None:
    text = (
        '<tool_call>\n{"name": "search", "arguments": {"query": "S\\u00e3o Paulo \\ud83d\\ude00 '
        '東京 \\"quoted\\" back\\\\slash\\nline", "limit": 3}}\n</tool_call>'
    )
    streamed = every_way(hermes, text)
    assert streamed.calls[0].arguments == (
        '{"query":"São Paulo 😀 東京 \\"quoted\\" back\\\\slash\\nline","limit":3}'
    )


def test_nested_arguments_of_every_json_type(every_way: Stream) -> None:
    arguments = '{"query": "news", "limit": 10, "filters": {"tags": ["a", "b"], "since": 2024, "score": 0.50, "exact": true, "lang": null, "deep": [[{}], []]}}'
    text = f'<tool_call>\n{{"name": "search", "arguments": {arguments}}}\n</tool_call>'
    streamed = every_way(hermes, text)
    assert streamed.calls[0].arguments == (
        '{"query":"news","limit":10,"filters":{"tags":["a","b"],"since":2024,"score":0.5,'
        '"exact":true,"lang":null,"deep":[[{}],[]]}}'
    )


def test_parameters_is_read_as_arguments_and_missing_arguments_are_empty(every_way: Stream) -> None:
    text = (
        '<tool_call>{"name": "get_time", "parameters": {"zone": "UTC"}}</tool_call>'
        '<tool_call>{"name": "now"}</tool_call>'
    )
    assert every_way(hermes, text).named == [("get_time", {"zone": "UTC"}), ("now", {})]


def test_arguments_stream_as_they_grow(in_pieces: Stream) -> None:
    pieces = [
        "<tool_",
        'call>\n{"name": "get_wea',
        'ther", "arguments": {"ci',
        'ty": "Pa',
        'ris"}}\n</tool_call>',
    ]
    streamed = in_pieces(hermes, pieces)
    fragments = [getattr(d, "fragment", None) for d in streamed.deltas]
    assert fragments == [None, "{", '"city":"Pa', 'ris"}']


def test_text_that_only_looks_like_a_marker_is_content(every_way: Stream) -> None:
    text = "Wrap the call in <tool_call> tags, like <tool_call>this</tool_call>. Use <tool"
    streamed = every_way(hermes, text)
    assert streamed.content == text
    assert streamed.calls == []


def test_an_answer_without_calls_keeps_every_character(every_way: Stream) -> None:
    text = "  The weather in Paris is sunny, 24 °C.\n\n"
    assert every_way(hermes, text).content == text


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "send_email", "arguments": {"to": "a@b.c"}}',  # not one of the tools
        '{"arguments": {"city": "Paris"}, "name": "get_weath"}',  # not a whole tool name
        "get_weather(city='Paris')",  # not JSON
        '{"name": get_weather}',  # broken before the name is known
        "",
    ],
)
def test_a_block_that_is_not_a_call_of_a_tool_is_content(every_way: Stream, body: str) -> None:
    text = f"Checking.\n<tool_call>\n{body}\n</tool_call>\nDone."
    streamed = every_way(hermes, text)
    assert streamed.calls == []
    assert streamed.content == text


def test_a_call_that_breaks_after_its_name_keeps_what_was_valid(every_way: Stream) -> None:
    text = (
        '<tool_call>\n{"name": "get_weather", "arguments": {"unit": "celsius", "city": Paris}}\n'
        f"</tool_call>\n{TIME}\nThat is all."
    )
    streamed = every_way(hermes, text)
    assert streamed.named == [
        ("get_weather", {"unit": "celsius"}),
        ("get_time", {"zone": "Europe/Paris"}),
    ]
    assert streamed.content == "That is all."


def test_an_output_cut_inside_a_call_closes_the_call(every_way: Stream) -> None:
    text = '<tool_call>\n{"name": "search", "arguments": {"query": "weather in Par'
    assert every_way(hermes, text).named == [("search", {"query": "weather in Par"})]


def test_a_missing_closing_brace_before_the_end_marker_is_forgiven(every_way: Stream) -> None:
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}\n</tool_call>'
    assert every_way(hermes, text).named == [("get_weather", {"city": "Paris"})]


def test_detects_templates_that_write_tool_call_tags() -> None:
    qwen = (
        '{{- "\\n\\nFor each function call, return a json object with function name and '
        'arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": '
        '<function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}'
    )
    assert hermes.detects(qwen)
    assert not hermes.detects("{% for message in messages %}{{ message['content'] }}{% endfor %}")


def test_a_long_call_is_read_again_only_as_it_grows(
    in_pieces: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelport.structured.tools import partial

    reads = 0
    real = partial.prefix

    def counted(text: str, **options: Any) -> Any:
        nonlocal reads
        reads += 1
        return real(text, **options)

    monkeypatch.setattr(partial, "prefix", counted)
    code = "def double(x):\\n    return 2 * x  # é\\n" * 400  # about 16,000 characters
    text = f'<tool_call>\n{{"name": "search", "arguments": {{"query": "{code}"}}}}\n</tool_call>'
    streamed = in_pieces(hermes, [text[i : i + 4] for i in range(0, len(text), 4)])
    assert streamed.calls[0].arguments == f'{{"query":"{code}"}}'
    assert reads < 600  # one read per piece would be about 4,000
