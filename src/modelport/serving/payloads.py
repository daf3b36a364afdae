"""Request bodies: JSON decoding, and the input formats of ``/invocations``. No web imports.

``/invocations`` takes what clients of ``mlflow models serve`` send:

- a chat model: the chat request itself (``{"messages": [...], "max_tokens": ...}``) → ONE
  ``chat.completion`` object;
- a completions model: ``{"prompt": ...}`` → one ``text_completion``;
- any other PythonModel: exactly one of ``dataframe_split``, ``dataframe_records``,
  ``instances``, ``inputs`` (plus optional ``params``) → ``{"predictions": ...}``.

``"stream": true`` streams in every case.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidRequestError
from modelport.types import ChatCompletionRequest, CompletionRequest
from modelport.types._base import RequestModel

INPUT_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_JSON_TYPES = ("application/json",)


def check_content_type(content_type: str | None) -> None:
    """JSON bodies only; a missing Content-Type is taken as JSON."""
    if not content_type:
        return
    media = content_type.split(";")[0].strip().lower()
    if media in _JSON_TYPES or media.endswith("+json"):
        return
    raise InvalidRequestError(
        f"The body must be JSON sent with 'Content-Type: application/json', got '{media}'",
        code="unsupported_media_type",
    )


def _reject_constant(name: str) -> Any:
    raise InvalidRequestError(f"The body is not valid JSON: {name} is not a JSON value")


def decode_json(body: bytes) -> Any:
    """The body as JSON, or an :class:`InvalidRequestError` saying where it breaks."""
    if not body.strip():
        raise InvalidRequestError("The request body is empty; send a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(
            f"The body is not valid UTF-8 (byte {exc.start}); send JSON encoded as UTF-8"
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def decode_object(body: bytes) -> dict[str, Any]:
    data = decode_json(body)
    if not isinstance(data, dict):
        raise InvalidRequestError(f"The body must be a JSON object, got a JSON {_json_type(data)}")
    return data


def _json_type(value: Any) -> str:
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
    """What one ``/invocations`` body asks for."""

    stream: bool
    request: RequestModel | None = None  # chat / completions models
    data: Any = None  # other PythonModels
    params: dict[str, Any] | None = None


def parse_invocation(body: Mapping[str, Any], task: str | None) -> Invocation:
    """Turn an ``/invocations`` body into a typed request (LLM tasks) or model input."""
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


def _llm(request_type: type[RequestModel], body: Mapping[str, Any]) -> Invocation:
    params = body.get("params")
    merged = {k: v for k, v in body.items() if k != "params"}
    if params is not None:
        if not isinstance(params, Mapping):
            raise InvalidRequestError(
                f"'params' must be an object, got a JSON {_json_type(params)}", param="params"
            )
        merged.update(params)
    request = request_type.parse(merged)
    return Invocation(stream=bool(getattr(request, "stream", False)), request=request)


def _python(body: Mapping[str, Any]) -> Invocation:
    given = [key for key in INPUT_FORMATS if key in body]
    unknown = sorted(set(body) - {*INPUT_FORMATS, "params", "stream", "model"})
    if len(given) != 1 or unknown:
        got = ", ".join(sorted(body)) or "none"
        raise InvalidRequestError(
            f"An /invocations body takes exactly one of {', '.join(INPUT_FORMATS)} (plus optional "
            f"'params' and 'stream'); got keys: {got}"
        )
    params = body.get("params")
    if params is not None and not isinstance(params, Mapping):
        raise InvalidRequestError(
            f"'params' must be an object, got a JSON {_json_type(params)}", param="params"
        )
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequestError(
            f"'stream' must be true or false, got a JSON {_json_type(stream)}", param="stream"
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
    keys = list(dict.fromkeys(k for row in value for k in row))
    return _dataframe({k: [row.get(k) for row in value] for k in keys})


def _instances(value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
        keys = list(dict.fromkeys(k for row in value for k in row))
        return {k: [row.get(k) for row in value] for k in keys}
    return value


def to_jsonable(value: Any) -> Any:
    """A model's output as JSON-ready data (DataFrames as records, arrays as lists)."""
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
