"""Partial JSON and arguments that only grow."""

from __future__ import annotations

import json

import pytest

from modelport.structured.tools import partial


def test_a_prefix_holds_its_finished_values_and_open_strings() -> None:
    assert partial.prefix('{"city": "Par') == {"city": "Par"}
    assert partial.prefix('{"limit": 12') == {}  # the number may still grow
    assert partial.prefix('{"ok": tr') == {}
    assert partial.prefix('{"city": "Par', partial_strings=False) == {}
    assert partial.prefix('{"tags": ["a", "b') == {"tags": ["a", "b"]}


@pytest.mark.parametrize("text", ['{"a" 1', '{"a": tru,', '{"a": 1, "a": 2}', '{"a": NaN}'])
def test_what_no_json_begins_with_is_malformed(text: str) -> None:
    with pytest.raises(partial.MalformedJSON):
        partial.prefix(text)


def test_complete_finds_where_the_value_ends() -> None:
    assert partial.complete('{"a": [1]}\n</tool_call>') == ({"a": [1]}, 10)
    assert partial.complete('{"a": [1]') is None
    with pytest.raises(partial.MalformedJSON):
        partial.complete('{"a": 1, "a": 1}')


def test_raw_control_characters_in_strings_are_taken_as_written() -> None:
    assert partial.complete('{"code": "a\n\tb"}') == ({"code": "a\n\tb"}, 16)


def test_dumps_is_compact_keeps_unicode_and_escapes_lone_surrogates() -> None:
    assert partial.dumps({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'
    assert partial.dumps({"a": "\ud83d"}) == '{"a":"\\ud83d"}'
    with pytest.raises(ValueError):
        partial.dumps({"a": float("inf")})


def stream(text: str) -> tuple[list[str], str]:
    """The fragments an arguments writer sends for ``text`` fed one character at a time."""
    writer = partial.ArgumentsWriter()
    fragments = []
    for end in range(1, len(text) + 1):
        try:
            value = partial.prefix(text[:end])
        except partial.MalformedJSON:
            break
        fragments.append(writer.update(value))
    done = partial.complete(text)
    fragments.append(writer.close(done[0]) if done else writer.close_broken())
    assert "".join(fragments) == writer.text
    return [f for f in fragments if f], writer.text


@pytest.mark.parametrize(
    "text",
    [
        '{"city": "Paris", "days": 3}',
        '{"n": 1.50, "e": 1E3, "big": 123456789012345678901234567890}',
        '{"emoji": "\\ud83d\\ude00 and \\u00e9", "quote": "\\"", "slash": "a\\\\"}',
        '{"nested": {"list": [{"a": []}, [], "x]}"], "t": true, "f": false, "n": null}}',
        '{"k": "}]\\""}',
        "{}",
    ],
)
def test_fragments_join_into_the_normal_form_and_are_never_taken_back(text: str) -> None:
    fragments, joined = stream(text)
    assert joined == partial.dumps(json.loads(text))
    sent = ""
    for fragment in fragments:
        sent += fragment
        assert joined.startswith(sent)


def test_a_high_surrogate_waits_for_its_pair() -> None:
    fragments, joined = stream('{"e": "\\ud83d\\ude00"}')
    assert joined == '{"e":"😀"}'
    assert all("\ud83d" not in f and "\\ud83d" not in f for f in fragments)


def test_arguments_that_break_off_are_closed_where_they_were_valid() -> None:
    _, joined = stream('{"city": "Paris", "days": x}')
    assert joined == '{"city":"Paris"}'


def test_close_reads_a_string_holding_an_object_and_refuses_other_values() -> None:
    writer = partial.ArgumentsWriter()
    assert writer.close('{"city": "Paris"}') == '{"city":"Paris"}'
    for value in ([1, 2], "not json", 3):
        other = partial.ArgumentsWriter()
        assert other.close(value) == "{}"
    assert partial.ArgumentsWriter().close(None) == "{}"
