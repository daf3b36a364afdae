"""Body decoding and the /invocations formats, without a server."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from modelport.errors import InvalidRequestError
from modelport.serving.payloads import (
    check_content_type,
    decode_json,
    decode_object,
    parse_invocation,
    to_jsonable,
)
from modelport.types import ChatCompletionRequest, CompletionRequest


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


def test_chat_invocation_is_a_typed_request_with_params_merged() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "params": {"max_tokens": 3}}
    invocation = parse_invocation(body, "llm/v1/chat")
    assert isinstance(invocation.request, ChatCompletionRequest)
    assert invocation.request.max_tokens == 3 and invocation.stream is False
    wrapped = parse_invocation(
        {"inputs": {"messages": body["messages"]}, "stream": True}, "llm/v1/chat"
    )
    assert wrapped.stream is True and wrapped.request is not None


def test_completions_invocation() -> None:
    invocation = parse_invocation({"prompt": "x", "stream": True}, "llm/v1/completions")
    assert isinstance(invocation.request, CompletionRequest) and invocation.stream
    with pytest.raises(InvalidRequestError, match="prompt"):
        parse_invocation({"messages": []}, "llm/v1/completions")


def test_dataframe_formats_become_dataframes() -> None:
    split = parse_invocation(
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}}, None
    ).data
    records = parse_invocation(
        {"dataframe_records": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}, None
    ).data
    assert isinstance(split, pd.DataFrame)
    pd.testing.assert_frame_equal(split, records)
    assert split["b"].tolist() == ["x", "y"]


def test_instances_and_inputs() -> None:
    assert parse_invocation({"instances": [{"a": 1}, {"a": 2}]}, None).data == {"a": [1, 2]}
    assert parse_invocation({"instances": [1, 2]}, None).data == [1, 2]
    invocation = parse_invocation({"inputs": {"a": [1]}, "params": {"k": 2}}, None)
    assert invocation.data == {"a": [1]} and invocation.params == {"k": 2}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "exactly one of"),
        ({"inputs": 1, "instances": 2}, "exactly one of"),
        ({"inputs": 1, "colour": 2}, "colour"),
        ({"inputs": 1, "params": [1]}, "'params' must be an object"),
        ({"inputs": 1, "stream": "yes"}, "'stream' must be true or false"),
        ({"dataframe_split": [1]}, "'dataframe_split' must be an object"),
        ({"dataframe_split": {"columns": "a", "data": [[1]]}}, "list of column names"),
        ({"dataframe_records": [1, 2]}, "list of objects"),
    ],
)
def test_bad_invocations(body: dict, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_invocation(body, None)


def test_outputs_become_json() -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    assert to_jsonable(frame) == [{"a": 1}, {"a": 2}]
    assert to_jsonable(frame["a"]) == [1, 2]
    assert to_jsonable({"x": (1, math.inf), 2: None}) == {"x": [1, None], "2": None}
    assert to_jsonable(
        ChatCompletionRequest.parse({"messages": [{"role": "user", "content": "h"}]})
    )["messages"] == [{"role": "user", "content": "h"}]
    assert (
        to_jsonable(object.__new__(type("Thing", (), {"__str__": lambda self: "thing"}))) == "thing"
    )
