"""The web UI under ``/ui``: one static page (``static/``) and the JSON API it reads.

``install_ui`` adds both to a FastAPI app: the model server's (``modelport serve --ui``) or the
UI's own (``create_ui_app``, behind ``modelport ui``). The page, its scripts and styles need no
API key (they hold no data); ``/ui/api`` is guarded like ``/v1``.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.responses import FileResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from modelport import __version__
from modelport.serving.errors import install_error_handlers
from modelport.serving.metrics import Metrics
from modelport.serving.middleware import GuardMiddleware, RequestContextMiddleware, ServerState
from modelport.serving.openapi import build_openapi
from modelport.tracking import TrackingClient
from modelport.ui.api import tracking_router

log = logging.getLogger("modelport.ui")

STATIC = Path(str(files("modelport.ui") / "static"))
CHART_LIBRARY = STATIC / "vendor" / "chart.umd.min.js"
PREFIX = "/ui"
MAX_BODY = 1024 * 1024  # the UI API takes small JSON bodies only (a description, an alias)


def install_ui(app: FastAPI, *, tracking: TrackingClient | None, chat_base_url: str | None) -> None:
    """Serve the UI on ``app`` under ``/ui``: the tracking pages when ``tracking`` is given,
    the chat playground always (talking by default to ``chat_base_url``, e.g. ``/v1``)."""
    if not CHART_LIBRARY.is_file():
        log.warning(
            "the UI's chart library is missing (%s); run scripts/install to add it: the pages "
            "show metrics as tables until then",
            CHART_LIBRARY,
        )
    api = APIRouter(prefix=f"{PREFIX}/api")
    settings = {
        "version": __version__,
        "tracking": tracking is not None,
        "store": tracking.display_uri if tracking is not None else None,
        "chat_base_url": chat_base_url,
        "charts": CHART_LIBRARY.is_file(),
    }

    @api.get("/config", summary="What this UI serves: tracking pages, default chat server")
    async def config() -> dict[str, Any]:
        return settings

    if tracking is not None:
        app.state.ui_tracking = tracking
        api.include_router(tracking_router())
    app.include_router(api)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="ui-static")

    @app.get(PREFIX, include_in_schema=False)
    async def ui_root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/")

    @app.get(f"{PREFIX}/", include_in_schema=False)
    async def ui_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def create_ui_app(
    tracking_uri: str | None = None,
    artifact_root: str | None = None,
    *,
    chat_base_url: str | None = None,
    api_key: str | None = None,
) -> FastAPI:
    """The app of ``modelport ui``: the UI over the tracking store at ``tracking_uri``
    (default: as the fluent API finds it), with the server's request ids, access log and
    error envelope; with ``api_key``, ``/ui/api`` needs ``Authorization: Bearer <key>``."""
    tracking = TrackingClient(tracking_uri, artifact_root)
    app = FastAPI(
        title="modelport UI",
        version=__version__,
        description="The JSON API of modelport's web UI over a tracking store. Errors use the "
        'OpenAI envelope `{"error": {"message", "type", "param", "code"}}`.',
    )
    install_error_handlers(app)
    install_ui(app, tracking=tracking, chat_base_url=chat_base_url)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/")

    metrics = Metrics(in_flight=lambda: 0, queue_depth=lambda: 0, models=list)
    app.add_middleware(
        GuardMiddleware, state=ServerState(), api_key=api_key, max_body_size=MAX_BODY
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.openapi = lambda: build_openapi(app, api_key=api_key is not None)  # type: ignore[method-assign]
    return app
