"""Client JSON that would break later code is refused at decoding, naming where it is."""

from __future__ import annotations

import json

import pytest

from modelport.errors import InvalidRequestError
from modelport.jsonbody import MAX_DEPTH, MAX_INT_DIGITS, loads


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.5, "x", null, true, {"b": {}}]}',
        '{"emoji": "\\ud83d\\ude00", "accents": "caf\\u00e9"}',  # a surrogate *pair* is fine
        '{"seed": 1180591620717411303424}',  # big but convertible: the field's range decides
        '{"x": -' + "9" * MAX_INT_DIGITS + "}",
        nested(MAX_DEPTH - 1),
        '"just a string"',
    ],
)
def test_valid_documents_decode_as_json_does(text: str) -> None:
    assert loads(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "param", "words"),
    [
        (nested(100_000), None, f"nested deeper than {MAX_DEPTH} levels"),  # the parser's limit
        (nested(MAX_DEPTH + 1), "[0]", f"nested deeper than {MAX_DEPTH} levels"),
        ('{"custom_inputs": ' + nested(500) + "}", "custom_inputs", "nested deeper"),
        (
            '{"messages": [{"role": "user", "content": "a\\ud800b"}]}',
            "messages[0].content",
            "lone UTF-16 surrogate",
        ),
        ('{"a": ["\\udfff"]}', "a[0]", "lone UTF-16 surrogate"),
        ('{"\\udc00": 1}', None, "a key with a lone UTF-16 surrogate"),
        (
            '{"n": 1, "seed": ' + "9" * (MAX_INT_DIGITS + 1) + "}",
            "seed",
            f"{MAX_INT_DIGITS + 1} digits; at most {MAX_INT_DIGITS}",
        ),
        ('{"temperature": 1e400}', "temperature", "not a finite number"),
        ('{"temperature": NaN}', None, "NaN is not a JSON value"),
        ('{"a": Infinity}', None, "Infinity is not a JSON value"),
        ('{"a": 1,}', None, "is not valid JSON"),
    ],
)
def test_documents_that_break_later_code_are_refused(
    text: str, param: str | None, words: str
) -> None:
    with pytest.raises(InvalidRequestError, match=words) as caught:
        loads(text)
    assert caught.value.param == param
    assert caught.value.status_code == 400


def test_the_message_names_the_document() -> None:
    with pytest.raises(InvalidRequestError, match=r"^input file 'x\.json' is not valid JSON"):
        loads("{", "input file 'x.json'")


def test_a_refused_value_deep_in_a_large_document_is_found() -> None:
    items = [{"id": i, "text": "ok"} for i in range(2000)]
    text = json.dumps({"items": items})[:-2] + ', {"id": 1e999}]}'
    with pytest.raises(InvalidRequestError) as caught:
        loads(text)
    assert caught.value.param == "items[2000].id"


def test_deep_nesting_after_a_refused_number_is_a_400() -> None:
    # the second parse (which finds where the number was) meets the depth: a 400 either way,
    # naming 'b' when Python's recursion limit lets the parser through (others raise it)
    with pytest.raises(InvalidRequestError, match="nested deeper than") as caught:
        loads('{"a": 1e999, "b": ' + nested(2000) + "}")
    assert caught.value.param in (None, "b")
