"""What every model route shares: the app's context, reading a JSON body, answering."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse, Response

from modelport.errors import InvalidRequestError
from modelport.serving.generation import Runtime, open_stream, respond
from modelport.serving.middleware import ServerState
from modelport.serving.payloads import check_content_type, decode_object
from modelport.serving.registry import ModelRegistry, ServedModel
from modelport.serving.sse import EventStreamResponse
from modelport.types._base import RequestModel

log = logging.getLogger("modelport.serving")

_ROUTE_OF_TASK = {"llm/v1/chat": "/v1/chat/completions", "llm/v1/completions": "/v1/completions"}


@dataclass
class AppContext:
    """Everything the routes need, kept on ``app.state.modelport``."""

    registry: ModelRegistry
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
    response = await respond(served, typed, ctx.runtime)
    return JSONResponse(response.to_dict())
