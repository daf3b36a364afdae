"""Any output at all: every format gives content and calls without raising, keeps OpenAI's
delta rules, and reads the output the same in any pieces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelport.structured.tools import get_format

# Pieces that real outputs are made of, so that random ones come close to calls and break them.
PIECES = [
    "<tool_call>",
    "</tool_call>",
    "<|python_tag|>",
    "[TOOL_CALLS]",
    "[ARGS]",
    "[CALL_ID]",
    '{"tool_calls":[',
    '{"name": "get_weather", "arguments": ',
    '{"name": "now"',
    '{"name": "get_',
    '"parameters": ',
    '{"city": "Par',
    'is"}',
    "}",
    "]",
    "[",
    "{",
    ",",
    ":",
    '"',
    "\\",
    "\\u00e9",
    "\\ud83d",
    "\\ude00",
    "é",
    "😀",
    " ",
    "\n",
    ";",
    "get_weather",
    "now",
    "get_weather [ARGS]",
    "now[CALL_ID]",
    '"arguments": {}}',
    '"type": "function", ',
    "\t",
    "1",
    "1.5e3",
    "true",
    "null",
    "x",
    "Hello",
]
outputs = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


@pytest.mark.parametrize("name", ["hermes", "llama3_json", "mistral", "generic"])
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=outputs, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=4))
def test_any_output_is_read_the_same_in_any_pieces(
    name: str, text: str, cuts: list[int], in_pieces: Callable[..., Any]
) -> None:
    tool_format = get_format(name)
    whole = in_pieces(tool_format, [text])
    points = sorted({min(cut, len(text)) for cut in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert in_pieces(tool_format, pieces).result() == whole.result()
    assert in_pieces(tool_format, list(text)).result() == whole.result()
    if not whole.calls:
        assert whole.content == text
