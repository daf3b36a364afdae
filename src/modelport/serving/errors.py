"""Where exceptions raised by routes become HTTP answers: the OpenAI error envelope.

Any :class:`~modelport.errors.ModelportError` answers with the status and type its class carries.
Framework errors (unknown route, wrong method, request validation) are mapped to the same
envelope. Anything unexpected is caught by the request middleware (``middleware.py``), which
answers a 500 with :data:`SAFE_MESSAGE` and sends the traceback to the log only. The errors
raised before routing (401, 413, 503 while draining) are written by ``middleware.send_error``,
with the same envelope from :func:`error_body`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from modelport.errors import (
    BodyTimeoutError,
    InvalidRequestError,
    ModelportError,
    NotFoundError,
    PayloadTooLargeError,
    QueueFullError,
)
from modelport.settings import field_path

log = logging.getLogger("modelport.serving")

SAFE_MESSAGE = "The server had an error while processing the request"


def error_response(exc: ModelportError, status: int | None = None) -> JSONResponse:
    """The envelope as a response (with ``Retry-After`` for 429, and ``Connection: close`` when
    the rest of the body will not be read: 408, 413)."""
    headers = {}
    if isinstance(exc, QueueFullError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, (BodyTimeoutError, PayloadTooLargeError)):
        headers["Connection"] = "close"
    return JSONResponse(exc.to_dict(), status_code=status or exc.status_code, headers=headers)


def log_error(exc: ModelportError, request_id: str) -> None:
    """Model failures (500) go to the log with their traceback; the rest is only noted."""
    if exc.status_code == 500:
        cause = exc.__cause__ or exc
        log.error("[%s] %s", request_id, exc.message, exc_info=cause)
    else:
        log.info("[%s] %d %s", request_id, exc.status_code, exc.message)


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


async def _modelport_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ModelportError)
    log_error(exc, _request_id(request))
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        error: ModelportError = NotFoundError(
            f"No route {request.method} {request.url.path}; the API is described at /docs"
        )
    elif exc.status_code == 405:
        error = InvalidRequestError(
            f"Method {request.method} is not allowed on {request.url.path}",
            code="method_not_allowed",
        )
    else:
        error = InvalidRequestError(str(exc.detail))
    response = error_response(error, status=exc.status_code)
    # Starlette's own headers, e.g. the Allow of a 405 (RFC 9110 requires it)
    response.headers.update(exc.headers or {})
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[Any] = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = tuple(first.get("loc", ()))
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    param = field_path(loc) or None
    where = f" for '{param}'" if param else ""
    error = InvalidRequestError(f"Invalid request{where}: {first.get('msg')}", param=param)
    return error_response(error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ModelportError, _modelport_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
