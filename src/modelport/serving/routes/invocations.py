"""``POST /invocations``: a drop-in for clients of ``mlflow models serve``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from modelport.scoring import INPUT_SCHEMA, parse_invocation, to_jsonable
from modelport.serving.openapi import MODEL_ERRORS, json_body, ref, streamed_answer
from modelport.serving.routes.common import (
    CLIENT_GONE,
    answer,
    cancel_on_disconnect,
    context_of,
    read_object,
    request_id_of,
)
from modelport.serving.service import open_predict_stream, predict
from modelport.serving.sse import EventStreamResponse
from modelport.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
)

router = APIRouter(tags=["MLflow"])

# An LLM's request may carry its params in a "params" object (merged into the request).
_PARAMS = {"properties": {"params": {"anyOf": [{"type": "object"}, {"type": "null"}]}}}
# Which of these a server takes depends on its models' tasks: anyOf, not oneOf, as a chat and a
# completions request may well be the same body.
_BODY = json_body(
    {
        "description": (
            "A chat model takes the chat request itself ({messages, max_tokens, …}); a "
            "completions model {prompt, …}; any other model a scoring input. stream: true "
            "streams Server-Sent Events."
        ),
        "anyOf": [
            {"allOf": [ref(ChatCompletionRequest), _PARAMS]},
            {"allOf": [ref(CompletionRequest), _PARAMS]},
            INPUT_SCHEMA,
        ],
    },
    example={"messages": [{"role": "user", "content": "What is MLflow?"}], "max_tokens": 25},
)
_ANSWER = streamed_answer(
    {"anyOf": [ref(ChatCompletionResponse), ref(CompletionResponse), ref("Predictions")]},
    # an LLM streams its chunks; another model whatever predict_stream yields
    {"anyOf": [ref(ChatCompletionChunk), ref(CompletionChunk), {}]},
    "One chat.completion or text_completion object for an LLM, else the predictions",
)


@router.post(
    "/invocations",
    summary="Predict, as `mlflow models serve` does (one chat.completion for chat models)",
    openapi_extra=_BODY,
    responses={200: _ANSWER, **MODEL_ERRORS},
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
