"""HTTP body checks (Content-Type, JSON decoding), without a server.

The /invocations formats themselves are tested in tests/test_scoring.py."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidRequestError
from modelport.serving.payloads import check_content_type, decode_json, decode_object


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"\xff", "not valid UTF-8"),
        (b'{"a": 1', "not valid JSON"),
        (b'{"a": NaN}', "NaN is not a JSON value"),
        (b'{"a": Infinity}', "Infinity is not a JSON value"),
    ],
)
def test_bad_bodies_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        decode_json(body)


def test_json_must_be_an_object() -> None:
    assert decode_object(b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(InvalidRequestError, match="got a JSON array"):
        decode_object(b"[1]")
    with pytest.raises(InvalidRequestError, match="got a JSON string"):
        decode_object(b'"hi"')


@pytest.mark.parametrize(
    "ok",
    [None, "", "application/json", "application/json; charset=utf-8", "application/vnd.api+json"],
)
def test_json_content_types_pass(ok: str | None) -> None:
    check_content_type(ok)


def test_other_content_types_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="Content-Type: application/json"):
        check_content_type("multipart/form-data; boundary=x")
