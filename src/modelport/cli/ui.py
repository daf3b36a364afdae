"""``modelport ui``: the web UI over a tracking store (experiments, runs, models, a chat page)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from modelport.cli._listen import (
    API_KEY_ENV,
    add_log_level,
    base_url,
    check_port,
    configure_logging,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ui",
        help="serve the web UI: experiments, runs, registered models and a chat playground",
        description="Serve the web UI over a tracking store. Every asset ships in the package: "
        "no internet is needed. The chat page talks to any OpenAI-compatible server (start it "
        "with --cors-origin set to this UI's URL).",
    )
    parser.add_argument(
        "--store",
        "--tracking-uri",
        dest="store",
        default=None,
        metavar="URI",
        help="tracking store: a folder, sqlite:///file.db or postgresql+psycopg://... "
        "(default: $MODELPORT_TRACKING_URI, else ./modelport.db and ./modelport-artifacts/)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (5000; 0 picks a free one)")
    parser.add_argument(
        "--api-key",
        default=None,
        help="require 'Authorization: Bearer KEY' on the UI's API (or set $MODELPORT_API_KEY); "
        "the page asks for it. Set one before listening on another address than 127.0.0.1",
    )
    parser.add_argument(
        "--chat-url",
        default=None,
        metavar="URL",
        help="the OpenAI-compatible base URL the chat page uses by default, e.g. "
        "http://127.0.0.1:8080/v1 (the page has a field to change it)",
    )
    add_log_level(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from modelport.serving.server import QuietServer, bind_socket
    from modelport.ui import create_ui_app

    check_port(args.port)
    configure_logging(args.log_level)
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    app = create_ui_app(args.store, chat_base_url=args.chat_url, api_key=api_key)
    sock = bind_socket(args.host, args.port)
    base = base_url(sock)
    # The socket is bound already, so the URL answers as soon as it is printed.
    print(
        f"modelport UI at {base}/ui/   (store: {app.state.ui_tracking.display_uri}; API docs: "
        f"{base}/docs; stop: Ctrl+C)",
        flush=True,
    )
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False)
    QuietServer(config).run(sockets=[sock])
    print("stopped", flush=True)
    return 0
