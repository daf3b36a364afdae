"""The exception tree: each class carries the HTTP status and OpenAI error type the server uses."""

from __future__ import annotations

import inspect

import pytest

import modelport.errors as errors
from modelport.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BodyTimeoutError,
    ContextLengthExceededError,
    InvalidRequestError,
    ModelExecutionError,
    ModelportError,
    NotFoundError,
    PackageError,
    PayloadTooLargeError,
    QueueFullError,
    RequestTimeoutError,
    SchemaEnforcementError,
    ServiceUnavailableError,
    StorageError,
    UnsupportedFeatureError,
)
from modelport.types import ErrorResponse

EXPECTED = [
    (ModelportError, 500, "server_error", None),
    (InvalidRequestError, 400, "invalid_request_error", None),
    (SchemaEnforcementError, 400, "invalid_request_error", None),
    (ContextLengthExceededError, 400, "invalid_request_error", "context_length_exceeded"),
    (UnsupportedFeatureError, 400, "invalid_request_error", "unsupported"),
    (PackageError, 400, "invalid_request_error", None),
    (AlreadyExistsError, 409, "invalid_request_error", "already_exists"),
    (AuthenticationError, 401, "authentication_error", "invalid_api_key"),
    (NotFoundError, 404, "not_found_error", "not_found"),
    (PayloadTooLargeError, 413, "invalid_request_error", "payload_too_large"),
    (BodyTimeoutError, 408, "invalid_request_error", "body_timeout"),
    (QueueFullError, 429, "rate_limit_error", "rate_limit_exceeded"),
    (ModelExecutionError, 500, "server_error", "model_error"),
    (StorageError, 502, "server_error", "storage_error"),
    (ServiceUnavailableError, 503, "service_unavailable", "service_unavailable"),
    (RequestTimeoutError, 504, "timeout", "timeout"),
]


@pytest.mark.parametrize(("cls", "status", "error_type", "code"), EXPECTED)
def test_each_class_carries_status_type_and_code(
    cls: type[ModelportError], status: int, error_type: str, code: str | None
) -> None:
    error = cls("what went wrong")

    assert isinstance(error, ModelportError)
    assert (error.status_code, error.error_type, error.code) == (status, error_type, code)
    assert str(error) == error.message == "what went wrong"


def test_every_class_of_the_module_is_covered_and_exported() -> None:
    defined = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, ModelportError)
    }

    assert defined == {cls.__name__ for cls, *_ in EXPECTED}
    assert sorted(errors.__all__) == sorted(defined)


def test_every_class_is_drawn_in_the_docstring_tree() -> None:
    tree = errors.__doc__ or ""

    for cls, status, *_ in EXPECTED:
        assert cls.__name__ in tree
        line = next(line for line in tree.splitlines() if f" {cls.__name__} " in line)
        assert str(status) in line


def test_the_tree_shape() -> None:
    assert issubclass(SchemaEnforcementError, InvalidRequestError)
    assert issubclass(ContextLengthExceededError, InvalidRequestError)
    assert issubclass(AlreadyExistsError, PackageError)
    assert not issubclass(PackageError, InvalidRequestError)


def test_to_dict_is_the_openai_envelope_and_parses_as_error_response() -> None:
    error = InvalidRequestError("temperature must be at most 2", param="temperature")

    body = error.to_dict()

    assert body == {
        "error": {
            "message": "temperature must be at most 2",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": None,
        }
    }
    assert ErrorResponse.parse(body).to_dict() == body


def test_an_explicit_code_wins_over_the_default() -> None:
    assert NotFoundError("no such run", code="run_not_found").code == "run_not_found"


def test_queue_full_carries_retry_after() -> None:
    error = QueueFullError("busy", retry_after=3)

    assert error.retry_after == 3 and error.status_code == 429
