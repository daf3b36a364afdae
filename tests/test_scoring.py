"""The MLflow scoring formats and JSON-ready outputs, without a server."""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest

from modelport.errors import InvalidRequestError
from modelport.scoring import INPUT_FORMATS, json_type, parse_invocation, to_jsonable
from modelport.types import ChatCompletionRequest, CompletionRequest

MESSAGES = [{"role": "user", "content": "hi"}]


def test_chat_invocation_is_a_typed_request_with_params_merged() -> None:
    body = {"messages": MESSAGES, "max_tokens": 9, "params": {"max_tokens": 3}}
    invocation = parse_invocation(body, "llm/v1/chat")
    assert isinstance(invocation.request, ChatCompletionRequest)
    assert invocation.request.max_tokens == 3 and invocation.stream is False
    assert invocation.data is None and invocation.params is None


def test_chat_request_may_come_wrapped_in_inputs() -> None:
    wrapped = parse_invocation({"inputs": {"messages": MESSAGES}, "stream": True}, "llm/v1/chat")
    assert wrapped.stream is True
    assert isinstance(wrapped.request, ChatCompletionRequest)
    assert wrapped.request.messages[0].content == "hi"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prompt": "x"}, "This is a chat model: send the chat request itself"),
        ({"inputs": [1]}, "This is a chat model"),
        ({"messages": MESSAGES, "params": "fast"}, "'params' must be an object, got a JSON string"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ],
)
def test_bad_chat_invocations(body: dict, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_invocation(body, "llm/v1/chat")
    assert message in caught.value.message


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


def test_dataframe_split_without_columns_numbers_them() -> None:
    frame = parse_invocation({"dataframe_split": {"data": [[1, 2], [3, 4]]}}, None).data
    assert list(frame.columns) == ["0", "1"] and frame["1"].tolist() == [2, 4]


def test_records_with_missing_keys_get_none() -> None:
    frame = parse_invocation({"dataframe_records": [{"a": 1}, {"b": 2}]}, None).data
    assert list(frame.columns) == ["a", "b"]
    assert frame["a"].tolist()[0] == 1 and pd.isna(frame["a"].tolist()[1])


def test_without_pandas_dataframes_are_dicts_of_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError

    data = parse_invocation({"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}, None).data

    assert data == {"a": [1, 2]}


def test_instances_and_inputs() -> None:
    assert parse_invocation({"instances": [{"a": 1}, {"a": 2}]}, None).data == {"a": [1, 2]}
    assert parse_invocation({"instances": [1, 2]}, None).data == [1, 2]
    invocation = parse_invocation({"inputs": {"a": [1]}, "params": {"k": 2}}, None)
    assert invocation.data == {"a": [1]} and invocation.params == {"k": 2}
    assert invocation.stream is False
    assert parse_invocation({"inputs": "x", "stream": True, "model": "m"}, None).stream is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "exactly one of dataframe_split, dataframe_records, instances, inputs"),
        ({"inputs": 1, "instances": 2}, "got keys: inputs, instances"),
        ({"inputs": 1, "colour": 2}, "got keys: colour, inputs"),
        ({"inputs": 1, "params": [1]}, "'params' must be an object, got a JSON array"),
        ({"inputs": 1, "stream": "yes"}, "'stream' must be true or false, got a JSON string"),
        ({"dataframe_split": [1]}, "'dataframe_split' must be an object with 'columns' and"),
        ({"dataframe_split": {"columns": "a", "data": [[1]]}}, "list of column names"),
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}},
            "'dataframe_split.data[1]' must be a list of 2 values (one per column), got [3]",
        ),
        ({"dataframe_split": {"columns": ["a"], "data": [5]}}, "'dataframe_split.data[0]'"),
        ({"dataframe_records": [1, 2]}, "list of objects"),
    ],
)
def test_bad_invocations(body: dict, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_invocation(body, None)
    assert message in caught.value.message


def test_input_formats_are_mlflows() -> None:
    assert INPUT_FORMATS == ("dataframe_split", "dataframe_records", "instances", "inputs")


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ({}, "object"),
        ([], "array"),
        ("", "string"),
        (True, "boolean"),
        (1.5, "number"),
        (None, "null"),
    ],
)
def test_json_type_names(value: object, name: str) -> None:
    assert json_type(value) == name


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


def test_the_scoring_module_and_the_predict_command_stay_light() -> None:
    heavy = ["pandas", "numpy", "torch", "transformers", "fastapi", "starlette"]
    code = (
        "import sys, modelport.scoring, modelport.cli.predict; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"
