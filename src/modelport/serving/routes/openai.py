"""The OpenAI endpoints: ``/v1/chat/completions``, ``/v1/completions``, ``/v1/models``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from modelport.serving.routes.common import answer, check_task, context_of, read_object
from modelport.types import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
    ErrorResponse,
)

router = APIRouter(tags=["OpenAI"])


def request_body(model: type) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body by its schema (bodies are parsed by hand)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 404, 413, 429, 500, 503, 504)
}


@router.post(
    "/v1/chat/completions",
    summary="Create a chat completion (stream: true answers Server-Sent Events)",
    openapi_extra=request_body(ChatCompletionRequest),
    responses={200: {"model": ChatCompletionResponse}, **ERRORS},
)
async def chat_completions(request: Request) -> Response:
    return await _complete(request, ChatCompletionRequest, "llm/v1/chat")


@router.post(
    "/v1/completions",
    summary="Create a completion, for completions-task models",
    openapi_extra=request_body(CompletionRequest),
    responses={200: {"model": CompletionResponse}, **ERRORS},
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


@router.get("/v1/models", summary="List the served models")
async def list_models(request: Request) -> JSONResponse:
    models = context_of(request).models
    return JSONResponse({"object": "list", "data": [m.card() for m in models.served()]})


@router.get("/v1/models/{model_id:path}", summary="Describe one served model")
async def get_model(request: Request, model_id: str) -> JSONResponse:
    return JSONResponse(context_of(request).models.find(model_id).card())
