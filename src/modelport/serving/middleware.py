"""ASGI middleware: request ids, the access log, metrics, unexpected errors (outer), then
draining, API key and body size (inner, after CORS so that preflights pass)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass

import anyio
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.errors import (
    BodyTimeoutError,
    ModelportError,
    PayloadTooLargeError,
    ServiceUnavailableError,
)
from modelport.serving.auth import check_api_key, is_open_path
from modelport.serving.errors import SAFE_MESSAGE, log_error
from modelport.serving.metrics import Metrics

access_log = logging.getLogger("modelport.access")
log = logging.getLogger("modelport.serving")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Served while draining: liveness and metrics stay up, readiness says 503 on its own.
DRAIN_EXEMPT_PATHS = frozenset({"/ping", "/health", "/metrics"})
_UNTRACKED = frozenset({"/ping", "/health", "/metrics", "/version"})


@dataclass
class ServerState:
    """What the middleware and the server runner share: draining, and requests under way."""

    draining: bool = False
    active: int = 0


async def send_error(send: Send, exc: ModelportError) -> None:
    body = json.dumps(exc.to_dict()).encode()
    extra = [(b"retry-after", str(exc.retry_after).encode())] if hasattr(exc, "retry_after") else []
    await send(
        {
            "type": "http.response.start",
            "status": exc.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestContextMiddleware:
    """X-Request-Id on every response, one access-log line and the metrics per request, and a
    safe 500 (traceback to the log) for anything unexpected."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        id_header = (b"x-request-id", request_id.encode())
        status = 500
        started = time.perf_counter()
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), id_header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = 499  # the client left before its body was read; nobody to answer
        except Exception as exc:
            log.error("[%s] unexpected error", request_id, exc_info=exc)
            if not response_started:
                await send_error(send_with_id, ModelportError(SAFE_MESSAGE))
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(label, scope["method"], status, seconds)
            stream_error = scope["state"].get("stream_error")
            access_log.info(
                '%s "%s %s" %d %.3fs id=%s%s',
                _client(scope),
                scope["method"],
                scope["path"],
                status,
                seconds,
                request_id,
                f" stream_error={stream_error}" if stream_error else "",
            )


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


class GuardMiddleware:
    """503 while draining, 401 without the API key, 413 over the body limit, 408 for a body
    that does not arrive within ``body_timeout`` seconds (a stalled or trickling client would
    hold its connection forever); counts the requests under way (the graceful shutdown waits
    for them)."""

    def __init__(
        self,
        app: ASGIApp,
        state: ServerState,
        *,
        api_key: str | None,
        max_body_size: int,
        body_timeout: float = 60.0,
    ) -> None:
        self.app = app
        self.state = state
        self.api_key = api_key
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        request_id = scope.get("state", {}).get("request_id", "-")
        try:
            if self.state.draining and path not in DRAIN_EXEMPT_PATHS:
                raise ServiceUnavailableError(
                    "The server is shutting down and takes no new requests"
                )
            if self.api_key and not is_open_path(path) and scope["method"] != "OPTIONS":
                check_api_key(_header(scope, b"authorization"), self.api_key)
            length = _header(scope, b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_size:
                raise self._too_large(int(length))
        except ModelportError as exc:
            log_error(exc, request_id)
            await send_error(send, exc)
            return

        received = 0
        body_done = False
        body_deadline = anyio.current_time() + self.body_timeout

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # afterwards the route only listens for the client leaving
                return await receive()
            with anyio.move_on_at(body_deadline) as timer:
                message = await receive()
            if timer.cancelled_caught:
                raise BodyTimeoutError(
                    f"The request body did not arrive within {self.body_timeout:g}s "
                    f"(--body-timeout); got {received} bytes"
                )
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_size:
                    raise self._too_large(received)
                body_done = not message.get("more_body", False)
            return message

        tracked = path not in _UNTRACKED
        if tracked:
            self.state.active += 1
        try:
            await self.app(scope, limited_receive, send)
        finally:
            if tracked:
                self.state.active -= 1

    def _too_large(self, size: int) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"The request body is larger than the limit of {self.max_body_size} bytes "
            f"(--max-body-size); got at least {size} bytes"
        )
