"""The OpenAI endpoints: ``/v1/chat/completions``, ``/v1/completions``, ``/v1/models``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from modelport.serving.openapi import (
    MODEL_ERRORS,
    errors,
    json_answer,
    json_body,
    ref,
    streamed_answer,
)
from modelport.serving.routes.common import answer, check_task, context_of, read_object
from modelport.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
)

router = APIRouter(tags=["OpenAI"])


@router.post(
    "/v1/chat/completions",
    summary="Create a chat completion (stream: true answers Server-Sent Events)",
    openapi_extra=json_body(ref(ChatCompletionRequest)),
    responses={
        200: streamed_answer(
            ref(ChatCompletionResponse), ref(ChatCompletionChunk), "One chat.completion"
        ),
        **MODEL_ERRORS,
    },
)
async def chat_completions(request: Request) -> Response:
    return await _complete(request, ChatCompletionRequest, "llm/v1/chat")


@router.post(
    "/v1/completions",
    summary="Create a completion, for completions-task models",
    openapi_extra=json_body(ref(CompletionRequest)),
    responses={
        200: streamed_answer(ref(CompletionResponse), ref(CompletionChunk), "One text_completion"),
        **MODEL_ERRORS,
    },
)
async def completions(request: Request) -> Response:
    return await _complete(request, CompletionRequest, "llm/v1/completions")


async def _complete(
    request: Request, kind: type[ChatCompletionRequest | CompletionRequest], task: str
) -> Response:
    """Parse the body as ``kind``, pick the model it names, check its task, answer."""
    typed = kind.parse(await read_object(request))
    served = context_of(request).models.get(typed.model)
    check_task(served, task)
    return await answer(request, served, typed)


@router.get(
    "/v1/models", summary="List the served models", responses={200: json_answer(ref("ModelList"))}
)
async def list_models(request: Request) -> JSONResponse:
    models = context_of(request).models
    return JSONResponse({"object": "list", "data": [m.card() for m in models.served()]})


@router.get(
    "/v1/models/{model_id:path}",
    summary="Describe one served model",
    responses={200: json_answer(ref("Model")), **errors(404)},
)
async def get_model(request: Request, model_id: str) -> JSONResponse:
    return JSONResponse(context_of(request).models.find(model_id).card())
