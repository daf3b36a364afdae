"""``create_app(config)``: the FastAPI app of a model server.

Models load in a worker thread after startup, so the port answers at once: ``/health`` says 503
until every model is loaded. Middleware, outermost first: request context (request id, access
log, metrics, safe 500) → CORS → guard (draining 503, API key 401, body size 413) → routes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from modelport import __version__
from modelport.errors import ModelportError
from modelport.serving.config import ServerConfig
from modelport.serving.errors import install_error_handlers
from modelport.serving.limits import Limiter
from modelport.serving.metrics import Metrics
from modelport.serving.middleware import GuardMiddleware, RequestContextMiddleware, ServerState
from modelport.serving.openapi import build_openapi
from modelport.serving.routes import health, invocations, openai
from modelport.serving.routes.common import AppContext
from modelport.serving.served import ServedModels
from modelport.serving.service import Runtime

log = logging.getLogger("modelport.serving")

DESCRIPTION = (
    "OpenAI-compatible endpoints (`/v1/chat/completions`, `/v1/completions`, `/v1/models`), "
    "the MLflow-compatible `/invocations`, and probes. Errors use the OpenAI envelope "
    '`{"error": {"message", "type", "param", "code"}}`; a method that a path does not take '
    "answers 405 with an `Allow` header."
)


def create_app(config: ServerConfig) -> FastAPI:
    """A ready-to-run ASGI app serving ``config.models``."""
    served = ServedModels(config.models, load_options=config.load_options)
    limiter = Limiter(config.max_concurrency, config.max_queue, config.retry_after)
    metrics = Metrics(
        in_flight=lambda: limiter.running,
        queue_depth=lambda: limiter.waiting,
        models=served.loaded_models,
    )
    state = ServerState()
    runtime = Runtime(
        limiter=limiter,
        timeout=config.timeout,
        threads=anyio.CapacityLimiter(config.max_concurrency + 4),
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def load() -> None:
            try:
                await anyio.to_thread.run_sync(
                    served.load_all, config.on_progress, abandon_on_cancel=True
                )
            except ModelportError as exc:  # said in one line by whoever runs the server
                log.debug("loading the models failed", exc_info=exc)
            except Exception as exc:
                log.error("loading the models failed: %r", exc, exc_info=exc)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(load)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
        await anyio.to_thread.run_sync(served.close_all)

    app = FastAPI(
        title="modelport",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.modelport = AppContext(models=served, runtime=runtime, state=state)
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(openai.router)
    app.include_router(invocations.router)
    app.include_router(health.router)
    if config.ui:
        from modelport.tracking import TrackingClient
        from modelport.ui import install_ui

        tracking = TrackingClient(config.ui_store) if config.ui_store is not None else None
        install_ui(app, tracking=tracking, chat_base_url="/v1")

    app.add_middleware(
        GuardMiddleware,
        state=state,
        api_key=config.api_key,
        max_body_size=config.max_body_size,
        body_timeout=config.body_timeout,
    )
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
            expose_headers=["X-Request-Id", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    has_key = config.api_key is not None
    app.openapi = lambda: build_openapi(app, api_key=has_key)  # type: ignore[method-assign]
    return app
