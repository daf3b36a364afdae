"""What every model route shares: the app's context, reading a JSON body, answering."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from fastapi import Request
from starlette.responses import JSONResponse, Response

from modelport.errors import InvalidRequestError
from modelport.serving.middleware import ServerState
from modelport.serving.payloads import check_content_type, decode_object
from modelport.serving.served import ServedModel, ServedModels
from modelport.serving.service import Runtime, open_stream, respond
from modelport.serving.sse import EventStreamResponse
from modelport.types._base import RequestModel

log = logging.getLogger("modelport.serving")
T = TypeVar("T")
CLIENT_GONE = 499  # nginx's status for a client that closed the connection (logged, never seen)

_ROUTE_OF_TASK = {"llm/v1/chat": "/v1/chat/completions", "llm/v1/completions": "/v1/completions"}


@dataclass
class AppContext:
    """Everything the routes need, kept on ``app.state.modelport``."""

    models: ServedModels
    runtime: Runtime
    state: ServerState


def context_of(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.modelport
    return ctx


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


async def read_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (400 for other content types, bad UTF-8, bad JSON)."""
    check_content_type(request.headers.get("content-type"))
    return decode_object(await request.body())


def check_task(served: ServedModel, task: str) -> None:
    if served.task == task:
        return
    if served.task in _ROUTE_OF_TASK:
        hint = f"; use {_ROUTE_OF_TASK[served.task]}"
    else:
        hint = "; use /invocations"
    raise InvalidRequestError(
        f"The model '{served.name}' is a {served.task or 'custom PythonModel'} model, not "
        f"{task}{hint}",
        param="model",
    )


async def answer(request: Request, served: ServedModel, typed: RequestModel) -> Response:
    """Stream (SSE) or answer one object, for a chat or completions request."""
    ctx = context_of(request)
    request_id = request_id_of(request)
    ignored = typed.ignored_fields()
    if ignored:
        log.info("[%s] ignored unknown fields: %s", request_id, ", ".join(ignored))
    if getattr(typed, "stream", False):
        stream = await open_stream(served, typed, ctx.runtime)
        return EventStreamResponse(stream, request_id)
    outcome = await cancel_on_disconnect(request, lambda: respond(served, typed, ctx.runtime))
    if outcome is None:
        return Response(status_code=CLIENT_GONE)
    return JSONResponse(outcome.to_dict())


async def cancel_on_disconnect(request: Request, work: Callable[[], Awaitable[T]]) -> T | None:
    """Run ``work`` (its body already read); cancel it if the client leaves first (→ None)."""
    outcome: dict[str, Any] = {}
    async with anyio.create_task_group() as tasks:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            log.info("[%s] the client left; cancelling", request_id_of(request))
            tasks.cancel_scope.cancel()

        tasks.start_soon(watch)
        try:
            outcome["value"] = await work()
        except Exception as exc:  # re-raised below, outside the task group (no ExceptionGroup)
            outcome["error"] = exc
        tasks.cancel_scope.cancel()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
