"""The one exception tree of modelport.

Every error modelport raises on purpose is a :class:`ModelportError`. Each class carries the
HTTP status and the OpenAI error ``type`` that the server answers with, so that a route never
builds an error body by hand: it raises, and one handler converts.

::

    ModelportError                      500 server_error
    ├── InvalidRequestError             400 invalid_request_error   (bad input; names the param)
    │   ├── SchemaEnforcementError      400                         (input/params vs. signature)
    │   ├── ContextLengthExceededError  400  code=context_length_exceeded
    │   └── UnsupportedFeatureError     400  code=unsupported       (e.g. tools with a template
    │                                                                that cannot take them)
    ├── PackageError                    400 invalid_request_error   (a package that cannot be
    │                                                                written or read)
    │   └── AlreadyExistsError          409                         (target exists, no overwrite)
    ├── AuthenticationError             401 authentication_error
    ├── NotFoundError                   404 not_found_error         (model, run, version, alias…)
    ├── BodyTimeoutError                408 invalid_request_error   (body not sent in time)
    ├── PayloadTooLargeError            413 invalid_request_error
    ├── QueueFullError                  429 rate_limit_error        (carries retry_after)
    ├── ModelExecutionError             500 server_error            (the model's own code raised)
    ├── StorageError                    502 server_error            (object storage refused or
    │                                                                could not be reached)
    ├── ServiceUnavailableError         503 service_unavailable     (not ready / shutting down)
    └── RequestTimeoutError             504 timeout

A model's own exception is wrapped in :class:`ModelExecutionError` whose message is safe to show
a client; the original exception is kept as ``__cause__`` for the log.
"""

from __future__ import annotations

from typing import Any


class ModelportError(Exception):
    """Base of every error modelport raises on purpose."""

    status_code: int = 500
    error_type: str = "server_error"
    default_code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code

    def to_dict(self) -> dict[str, Any]:
        """The OpenAI error envelope: ``{"error": {"message", "type", "param", "code"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequestError(ModelportError):
    """The input is malformed, of the wrong type, or out of range."""

    status_code = 400
    error_type = "invalid_request_error"


class SchemaEnforcementError(InvalidRequestError):
    """The input or params do not match the model's signature."""


class ContextLengthExceededError(InvalidRequestError):
    """The prompt (plus the requested tokens) does not fit the model's context."""

    default_code = "context_length_exceeded"


class UnsupportedFeatureError(InvalidRequestError):
    """The request asks for something this model cannot do."""

    default_code = "unsupported"


class PackageError(ModelportError):
    """A model package cannot be written or read (bad arguments, corrupt manifest…)."""

    status_code = 400
    error_type = "invalid_request_error"


class AlreadyExistsError(PackageError):
    """The save target (or a named resource) exists and overwriting was not asked for."""

    status_code = 409
    default_code = "already_exists"


class AuthenticationError(ModelportError):
    """Missing or wrong API key."""

    status_code = 401
    error_type = "authentication_error"
    default_code = "invalid_api_key"


class NotFoundError(ModelportError):
    """A named thing (model, run, experiment, version, alias, route) does not exist."""

    status_code = 404
    error_type = "not_found_error"
    default_code = "not_found"


class PayloadTooLargeError(ModelportError):
    """The request body is over the configured limit."""

    status_code = 413
    error_type = "invalid_request_error"
    default_code = "payload_too_large"


class BodyTimeoutError(ModelportError):
    """The request body did not arrive in time (a client that stalls or trickles it)."""

    status_code = 408
    error_type = "invalid_request_error"
    default_code = "body_timeout"


class QueueFullError(ModelportError):
    """Too many requests waiting; the client should retry after ``retry_after`` seconds."""

    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after: int = 1, param: str | None = None) -> None:
        super().__init__(message, param=param)
        self.retry_after = retry_after


class ModelExecutionError(ModelportError):
    """The model's own code raised; the message is safe to show, the cause is logged."""

    status_code = 500
    error_type = "server_error"
    default_code = "model_error"


class ServiceUnavailableError(ModelportError):
    """The server is not ready yet, or is shutting down."""

    status_code = 503
    error_type = "service_unavailable"
    default_code = "service_unavailable"


class StorageError(ModelportError):
    """Object storage refused a request or could not be reached (credentials, permissions,
    endpoint, network)."""

    status_code = 502
    error_type = "server_error"
    default_code = "storage_error"


class RequestTimeoutError(ModelportError):
    """The request ran past its time limit and was cancelled."""

    status_code = 504
    error_type = "timeout"
    default_code = "timeout"


__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "BodyTimeoutError",
    "ContextLengthExceededError",
    "InvalidRequestError",
    "ModelExecutionError",
    "ModelportError",
    "NotFoundError",
    "PackageError",
    "PayloadTooLargeError",
    "QueueFullError",
    "RequestTimeoutError",
    "SchemaEnforcementError",
    "ServiceUnavailableError",
    "StorageError",
    "UnsupportedFeatureError",
]
