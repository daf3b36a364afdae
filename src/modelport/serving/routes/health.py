"""Probes and information: ``/ping``, ``/health``, ``/version``, ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from modelport import __version__
from modelport.serving.metrics import CONTENT_TYPE
from modelport.serving.openapi import json_answer, ref
from modelport.serving.routes.common import context_of

router = APIRouter(tags=["Service"])


@router.get(
    "/ping", summary="Liveness: 200 while the process runs", response_class=PlainTextResponse
)
async def ping() -> PlainTextResponse:
    return PlainTextResponse("pong\n")


@router.get(
    "/health",
    summary="Readiness: 200 once every model is loaded, 503 before and while draining",
    responses={
        200: json_answer(ref("Health"), "Every model is loaded"),
        503: json_answer(ref("Health"), "Loading, failed to load, or shutting down"),
    },
)
async def health(request: Request) -> JSONResponse:
    ctx = context_of(request)
    models = ctx.models
    if ctx.state.draining:
        return JSONResponse({"status": "shutting_down"}, status_code=503)
    if models.error is not None:
        return JSONResponse(
            {"status": "failed", "error": f"{type(models.error).__name__}: {models.error}"},
            status_code=503,
        )
    if not models.ready:
        return JSONResponse({"status": "loading", "models": models.names}, status_code=503)
    return JSONResponse({"status": "ok", "models": models.names})


@router.get(
    "/version", summary="The modelport version", responses={200: json_answer(ref("Version"))}
)
async def version() -> JSONResponse:
    return JSONResponse({"version": __version__})


@router.get(
    "/metrics",
    summary="Prometheus metrics (the text exposition format)",
    response_class=PlainTextResponse,
)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)
