"""``POST /invocations``: a drop-in for clients of ``mlflow models serve``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from modelport.scoring import parse_invocation, to_jsonable
from modelport.serving.routes.common import (
    CLIENT_GONE,
    answer,
    cancel_on_disconnect,
    context_of,
    read_object,
    request_id_of,
)
from modelport.serving.routes.openai import ERRORS
from modelport.serving.service import open_predict_stream, predict
from modelport.serving.sse import EventStreamResponse

router = APIRouter(tags=["MLflow"])

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": (
                        "A chat model takes the chat request itself ({messages, max_tokens, …}); "
                        "a completions model {prompt, …}; any other model exactly one of "
                        "dataframe_split, dataframe_records, instances, inputs, plus optional "
                        "params. stream: true streams Server-Sent Events."
                    ),
                },
                "example": {
                    "messages": [{"role": "user", "content": "What is MLflow?"}],
                    "max_tokens": 25,
                },
            }
        },
    }
}


@router.post(
    "/invocations",
    summary="Predict, as `mlflow models serve` does (one chat.completion for chat models)",
    openapi_extra=_BODY,
    responses=ERRORS,
)
async def invocations(request: Request) -> Response:
    ctx = context_of(request)
    body = await read_object(request)
    model_name = body.get("model") if isinstance(body.get("model"), str) else None
    served = ctx.models.get(model_name)
    invocation = parse_invocation(body, served.task)
    if invocation.request is not None:
        return await answer(request, served, invocation.request)
    if invocation.stream:
        stream = await open_predict_stream(
            served.loaded, invocation.data, invocation.params, ctx.runtime
        )
        return EventStreamResponse(stream, request_id_of(request))

    async def run() -> tuple[Any]:  # a tuple: a model may well predict None
        return (await predict(served.loaded, invocation.data, invocation.params, ctx.runtime),)

    outcome = await cancel_on_disconnect(request, run)
    if outcome is None:
        return Response(status_code=CLIENT_GONE)
    return JSONResponse({"predictions": to_jsonable(outcome[0])})
