"""The OpenAPI document (``/openapi.json``, shown at ``/docs``): what the server does.

The routes parse their bodies by hand (``WireModel.parse``, :mod:`modelport.scoring`), so FastAPI
sees neither the bodies nor most answers. Each route names them with :func:`json_body`,
:func:`json_answer`, :func:`streamed_answer` and :func:`errors`; :func:`build_openapi` completes
FastAPI's document with

- the wire types' schemas, requests as validated and answers as serialized, in the components;
- the errors the guard middleware answers before any route: 401 where the API key is needed
  (when the server has one, with its bearer security scheme), 413 where a body is taken, 503 on
  the paths not served while draining;
- 400 in the OpenAI envelope where FastAPI wrote its 422 (the error handlers answer 400), and
  the ``X-Request-Id`` header of every answer.

The suite checks the document against a running server with schemathesis
(``tests/serving/test_openapi_conformance.py``).
"""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from modelport.serving.auth import is_open_path
from modelport.serving.middleware import DRAIN_EXEMPT_PATHS
from modelport.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    ErrorResponse,
)

Schema = dict[str, Any]
Responses = dict[int | str, dict[str, Any]]

_REF = "#/components/schemas/{model}"
_REQUESTS = (ChatCompletionRequest, CompletionRequest)
_ANSWERS = (
    ChatCompletionResponse,
    ChatCompletionChunk,
    CompletionResponse,
    CompletionChunk,
    ErrorResponse,
)
_SECURITY_SCHEME = "apiKey"

_ERROR_DESCRIPTIONS = {
    400: "Invalid request: not a JSON object, a field missing or out of range, a model of "
    "another task",
    401: "Missing or wrong API key (send 'Authorization: Bearer <key>')",
    404: "No served model of that name",
    413: "The body is larger than --max-body-size",
    429: "Too many requests waiting; retry after Retry-After seconds",
    500: "The model failed; the details are in the server's log",
    503: "The models are still loading, or the server is shutting down",
    504: "The model ran past --timeout",
}

# The probes and service answers (the wire types come from modelport.types).
_SERVICE_SCHEMAS: dict[str, Schema] = {
    "Model": {
        "type": "object",
        "description": "A served model: OpenAI's model object, plus its task and flavor, and "
        "how its engine runs it (a transformers model's engine path, 'packed', 'padded' or "
        "'serial', and why; the weights' dtype, and why: 'as asked', or what dtype='auto' saw).",
        "required": ["id", "object", "created", "owned_by", "task", "flavor"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "model"},
            "created": {"type": "integer"},
            "owned_by": {"type": "string"},
            "task": {"type": ["string", "null"]},
            "flavor": {"type": "string"},
            "engine": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "reason": {"type": "string"}},
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "ModelList": {
        "type": "object",
        "required": ["object", "data"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": {"$ref": _REF.format(model="Model")}},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"enum": ["ok", "loading", "failed", "shutting_down"]},
            "models": {"type": "array", "items": {"type": "string"}},
            "error": {"type": "string"},
        },
    },
    "Version": {
        "type": "object",
        "required": ["version"],
        "properties": {"version": {"type": "string"}},
    },
    "Predictions": {
        "type": "object",
        "description": "What a model that is not a chat or completions model predicted.",
        "required": ["predictions"],
        "properties": {"predictions": {}},
    },
}

_HEADERS: dict[str, Schema] = {
    "X-Request-Id": {
        "description": "The request's id: the client's X-Request-Id if it is safe, else a new one",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying (--retry-after)",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}


def ref(name: str | type) -> Schema:
    """A reference to a schema of the components, by name or by the model's class."""
    return {"$ref": _REF.format(model=name if isinstance(name, str) else name.__name__)}


def json_body(schema: Schema, example: Any = None) -> dict[str, Any]:
    """``openapi_extra`` describing a required JSON body (bodies are parsed by hand)."""
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": media}}}


def json_answer(schema: Schema, description: str = "Successful Response") -> dict[str, Any]:
    """One answer of a ``responses=`` map: a JSON object."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def streamed_answer(schema: Schema, chunk: Schema, description: str) -> dict[str, Any]:
    """A 200 that is one JSON object, or Server-Sent Events with ``stream: true``.

    Each event's ``data`` is one JSON ``chunk`` (an error envelope if the model fails after the
    stream started); the last one is ``[DONE]``.
    """
    data = {
        "anyOf": [
            {"const": "[DONE]"},
            {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"anyOf": [chunk, ref(ErrorResponse)]},
            },
        ]
    }
    event = {"type": "object", "required": ["data"], "properties": {"data": data}}
    answer = json_answer(schema, description)
    answer["content"]["text/event-stream"] = {"schema": event}
    return answer


def errors(*statuses: int) -> Responses:
    """The error answers of a ``responses=`` map, each in the OpenAI envelope."""
    return {status: _error(status) for status in statuses}


def _error(status: int) -> dict[str, Any]:
    description = _ERROR_DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
    answer = json_answer(ref(ErrorResponse), description)
    if status == 429:
        answer["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return answer


# What any request that reaches a model may answer (the guard's 401, 413, 503 are added for all).
MODEL_ERRORS = errors(400, 404, 429, 500, 504)


def build_openapi(app: FastAPI, *, api_key: bool) -> dict[str, Any]:
    """FastAPI's document of ``app``, completed (see the module's docstring); built once."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422, answered as 400
        schemas.pop(unused, None)
    _, definitions = models_json_schema(
        [(model, "validation") for model in _REQUESTS]
        + [(model, "serialization") for model in _ANSWERS],
        ref_template=_REF,
    )
    schemas.update(definitions.get("$defs", {}))
    schemas.update(copy.deepcopy(_SERVICE_SCHEMAS))
    components["headers"] = copy.deepcopy(_HEADERS)
    if api_key:
        components["securitySchemes"] = {
            _SECURITY_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "The server's --api-key",
            }
        }
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _add_guard_errors(operation, path, api_key=api_key)
    app.openapi_schema = document
    return document


def _add_guard_errors(operation: dict[str, Any], path: str, *, api_key: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if responses.pop("422", None) is not None:
        responses.setdefault("400", _error(400))
    if api_key and not is_open_path(path):
        operation["security"] = [{_SECURITY_SCHEME: []}]
        responses.setdefault("401", _error(401))
    if "requestBody" in operation:
        responses.setdefault("413", _error(413))
    if path not in DRAIN_EXEMPT_PATHS:
        responses.setdefault("503", _error(503))
    for answer in responses.values():
        answer.setdefault("headers", {})["X-Request-Id"] = {
            "$ref": "#/components/headers/X-Request-Id"
        }
    operation["responses"] = dict(sorted(responses.items()))
