"""The MLflow scoring protocol: the input formats clients of ``mlflow models serve`` send, and
JSON-ready outputs. No web imports: ``POST /invocations`` and ``modelport predict`` share it.

- a chat model (task ``llm/v1/chat``): the chat request itself
  (``{"messages": [...], "max_tokens": ...}``, or wrapped as ``{"inputs": {...}}``);
- a completions model (``llm/v1/completions``): ``{"prompt": ..., ...}``;
- any other PythonModel: exactly one of ``dataframe_split``, ``dataframe_records``,
  ``instances``, ``inputs``, plus optional ``params`` (an object) and ``stream`` (a boolean).

``"stream": true`` asks for a stream in every case.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidRequestError
from modelport.signature.coerce import records_to_columns
from modelport.types import ChatCompletionRequest, CompletionRequest
from modelport.types._base import RequestModel

__all__ = [
    "INPUT_FORMATS",
    "INPUT_SCHEMA",
    "Invocation",
    "json_type",
    "parse_invocation",
    "to_jsonable",
]

INPUT_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")

# The JSON schema of what _python accepts (the OpenAPI document's scoring input).
INPUT_SCHEMA: dict[str, Any] = {
    "title": "ScoringInput",
    "description": (
        "The input of a model that is neither a chat nor a completions model: exactly one of "
        f"{', '.join(INPUT_FORMATS)}, plus optional params and stream. A chat model also takes "
        "its request wrapped as inputs."
    ),
    "type": "object",
    "properties": {
        "dataframe_split": {
            "type": "object",
            "description": "One list of values per row, one value per column",
            "required": ["data"],
            "properties": {
                "columns": {
                    "anyOf": [
                        {"type": "array", "items": {"type": ["string", "integer"]}},
                        {"type": "null"},
                    ]
                },
                "data": {"type": "array", "items": {"type": "array"}},
            },
        },
        "dataframe_records": {"type": "array", "items": {"type": "object"}},
        "instances": {},
        "inputs": {},
        "params": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "stream": {"type": "boolean"},
        "model": {"type": "string"},
    },
    "additionalProperties": False,
    "oneOf": [{"required": [key]} for key in INPUT_FORMATS],
}


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type (for error messages)."""
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null"


@dataclass
class Invocation:
    """What one scoring body asks for: a typed request (LLM tasks) or a model input."""

    stream: bool
    request: RequestModel | None = None  # chat / completions models
    data: Any = None  # other PythonModels
    params: dict[str, Any] | None = None


def parse_invocation(body: Mapping[str, Any], task: str | None) -> Invocation:
    """Turn a scoring body into a typed request (LLM tasks) or model input and params.

    Raises :class:`InvalidRequestError` saying what was wrong and which formats are accepted.
    """
    if task == "llm/v1/chat":
        if "messages" not in body and isinstance(body.get("inputs"), Mapping):
            body = {**body["inputs"], **{k: v for k, v in body.items() if k != "inputs"}}
        if "messages" not in body:
            raise InvalidRequestError(
                "This is a chat model: send the chat request itself, e.g. "
                '{"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 64}',
                param="messages",
            )
        return _llm(ChatCompletionRequest, body)
    if task == "llm/v1/completions":
        if "prompt" not in body:
            raise InvalidRequestError(
                'This is a completions model: send {"prompt": "...", "max_tokens": ...}',
                param="prompt",
            )
        return _llm(CompletionRequest, body)
    return _python(body)


def _check_params(params: Any) -> None:
    if params is not None and not isinstance(params, Mapping):
        raise InvalidRequestError(
            f"'params' must be an object, got a JSON {json_type(params)}", param="params"
        )


def _llm(request_type: type[RequestModel], body: Mapping[str, Any]) -> Invocation:
    params = body.get("params")
    _check_params(params)
    merged = {k: v for k, v in body.items() if k != "params"}
    merged.update(params or {})
    request = request_type.parse(merged)
    return Invocation(stream=bool(getattr(request, "stream", False)), request=request)


def _python(body: Mapping[str, Any]) -> Invocation:
    given = [key for key in INPUT_FORMATS if key in body]
    unknown = sorted(set(body) - {*INPUT_FORMATS, "params", "stream", "model"})
    if len(given) != 1 or unknown:
        got = ", ".join(sorted(body)) or "none"
        raise InvalidRequestError(
            f"A scoring input takes exactly one of {', '.join(INPUT_FORMATS)} (plus optional "
            f"'params' and 'stream'); got keys: {got}"
        )
    params = body.get("params")
    _check_params(params)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequestError(
            f"'stream' must be true or false, got a JSON {json_type(stream)}", param="stream"
        )
    key = given[0]
    value = body[key]
    if key == "dataframe_split":
        data = _dataframe_split(value)
    elif key == "dataframe_records":
        data = _dataframe_records(value)
    elif key == "instances":
        data = _instances(value)
    else:
        data = value
    return Invocation(stream=stream, data=data, params=dict(params) if params else None)


def _dataframe(columns: dict[str, list[Any]]) -> Any:
    """A pandas DataFrame when pandas is installed (as MLflow gives), else the dict of lists."""
    try:
        import pandas as pd
    except ImportError:
        return columns
    return pd.DataFrame(columns)


def _dataframe_split(value: Any) -> Any:
    example = '{"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}'
    if not isinstance(value, Mapping) or not isinstance(value.get("data"), list):
        raise InvalidRequestError(
            f"'dataframe_split' must be an object with 'columns' and 'data', e.g. {example}",
            param="dataframe_split",
        )
    rows = value["data"]
    columns = value.get("columns")
    width = len(rows[0]) if rows and isinstance(rows[0], list) else 0
    if columns is None:
        columns = list(range(width))
    if not isinstance(columns, list) or not all(isinstance(c, (str, int)) for c in columns):
        raise InvalidRequestError(
            "'dataframe_split.columns' must be a list of column names", param="dataframe_split"
        )
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise InvalidRequestError(
                f"'dataframe_split.data[{i}]' must be a list of {len(columns)} values (one per "
                f"column), got {json.dumps(row)[:60]}",
                param=f"dataframe_split.data[{i}]",
            )
    return _dataframe({str(c): [row[j] for row in rows] for j, c in enumerate(columns)})


def _dataframe_records(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise InvalidRequestError(
            "'dataframe_records' must be a list of objects, e.g. "
            '{"dataframe_records": [{"a": 1}, {"a": 2}]}',
            param="dataframe_records",
        )
    return _dataframe(records_to_columns(value))


def _instances(value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
        return records_to_columns(value)
    return value


def to_jsonable(value: Any) -> Any:
    """A model's output as JSON-ready data (DataFrames as records, arrays as lists, wire models
    as their dicts, non-finite floats as null, anything else as its ``str``)."""
    if hasattr(value, "to_dict") and type(value).__name__ == "DataFrame":
        return to_jsonable(value.to_dict(orient="records"))
    if hasattr(value, "to_dict") and callable(value.to_dict) and hasattr(value, "model_dump"):
        return value.to_dict()
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
