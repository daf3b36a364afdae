"""``modelport serve -m [NAME=]URI ...``: serve models behind an OpenAI-compatible API."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from pydantic import ValidationError

from modelport.cli import _ray
from modelport.cli._listen import (
    API_KEY_ENV,
    add_log_level,
    base_url,
    check_port,
    configure_logging,
)
from modelport.errors import InvalidRequestError
from modelport.settings import explain

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``10MB``, ``512k``, ``1048576`` → bytes."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 1048576, 512KB, 10MB)")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve models behind an OpenAI-compatible API",
        description="Serve one or more models: OpenAI endpoints under /v1, MLflow's "
        "/invocations, /health, /metrics and the API docs at /docs.",
    )
    parser.add_argument(
        "-m",
        "--model",
        dest="models",
        action="append",
        required=True,
        metavar="[NAME=]URI",
        help="a model to serve (repeat for several); the request's 'model' field picks by NAME",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (8080; 0 picks a free one)")
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"require 'Authorization: Bearer KEY' (or set ${API_KEY_ENV}); /ping and /health "
        "stay open",
    )
    parser.add_argument(
        "--cors-origin",
        dest="cors_origins",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser calls from this origin (repeatable; '*' for any)",
    )
    parser.add_argument(
        "--max-concurrency", type=int, default=32, help="requests processed at once (32)"
    )
    parser.add_argument(
        "--max-queue", type=int, default=128, help="requests waiting beyond that; then 429 (128)"
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=600.0,
        help="seconds per request before 504 and cancelling it (600)",
    )
    parser.add_argument(
        "--max-body-size", type=parse_size, default="10MB", help="largest request body (10MB)"
    )
    parser.add_argument(
        "--body-timeout",
        type=_positive_float,
        default=60.0,
        help="seconds a client has to send the whole request body; then 408 (60)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=_positive_float,
        default=30.0,
        help="seconds to let requests finish after SIGTERM/SIGINT (30)",
    )
    parser.add_argument(
        "--no-batching",
        dest="batching",
        action="store_false",
        help="generate for one request at a time (a load option: models whose flavor batches, "
        "e.g. transformers)",
    )
    parser.add_argument(
        "--tool-call-format",
        default=None,
        metavar="NAME",
        help="the tool-call format of chat models (hermes, llama3_json, mistral, generic; "
        "default: detected from the chat template)",
    )
    parser.add_argument(
        "--device",
        default=None,
        metavar="DEVICE",
        help="load option: the device models run on (transformers: cpu, cuda, auto); default: "
        "as saved",
    )
    parser.add_argument(
        "--dtype",
        default=None,
        metavar="DTYPE",
        help="load option: the weights' dtype (transformers: float32, bfloat16, float16, auto: "
        "bfloat16 where the CPU or GPU has native bf16, else float32); default: as saved, else "
        "auto",
    )
    parser.add_argument(
        "--ui",
        action="store_true",
        help="also serve the web UI under /ui: a chat playground on this server (and the "
        "tracking pages with --store); behind --api-key like the API",
    )
    parser.add_argument(
        "--store",
        default=None,
        metavar="URI",
        help="with --ui: the tracking store its pages show (a folder, sqlite:///file.db or "
        "postgresql+psycopg://...; default: $MODELPORT_TRACKING_URI when set, else no "
        "tracking pages)",
    )
    _ray.add_arguments(parser)
    add_log_level(parser)
    parser.set_defaults(func=run)


def _load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The flags that are load options, when given (each model gets those its flavor takes)."""
    options: dict[str, Any] = {}
    if not args.batching:
        options["batching"] = False
    if args.device is not None:
        options["device"] = args.device
    if args.dtype is not None:
        options["dtype"] = args.dtype
    if args.tool_call_format is not None:
        options["tool_call_format"] = args.tool_call_format
    return options


def _say(message: str) -> None:
    print(message, flush=True)


def _examples(base: str, name: str, api_key: str | None) -> str:
    auth = f" -H 'Authorization: Bearer {api_key}'" if api_key else ""
    key = repr(api_key) if api_key else "'unused'"
    return (
        "Try it:\n"
        f"  curl {base}/v1/chat/completions -H 'Content-Type: application/json'{auth} \\\n"
        f'    -d \'{{"model": "{name}", "messages": [{{"role": "user", "content": "Hello!"}}]}}\'\n'
        "\n"
        "  from openai import OpenAI\n"
        f"  client = OpenAI(base_url='{base}/v1', api_key={key})\n"
        f"  reply = client.chat.completions.create(model='{name}', "
        "messages=[{'role': 'user', 'content': 'Hello!'}])\n"
        "  print(reply.choices[0].message.content)\n"
    )


def run(args: argparse.Namespace) -> int:
    from modelport.serving import ServerConfig, create_app
    from modelport.serving.served import parse_model_spec
    from modelport.serving.server import bind_socket, make_server
    from modelport.serving.server import run as run_server

    models: dict[str, str] = {}
    for spec in args.models:
        name, uri = parse_model_spec(spec)
        if name in models:
            raise InvalidRequestError(f"two models are named '{name}'; use -m NAME=URI")
        models[name] = uri
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    check_port(args.port)
    _ray.check_flags(args)
    configure_logging(args.log_level)

    settings = {
        "models": models,
        "api_key": api_key,
        "cors_origins": args.cors_origins,
        "max_concurrency": args.max_concurrency,
        "max_queue": args.max_queue,
        "timeout": args.timeout,
        "max_body_size": args.max_body_size,
        "body_timeout": args.body_timeout,
        "load_options": _load_options(args),
        "on_progress": lambda message: _say(f"  {message}"),
        "ui": args.ui,
        "ui_store": (args.store or os.environ.get("MODELPORT_TRACKING_URI") or None)
        if args.ui
        else None,
    }
    if args.store is not None and not args.ui:
        raise InvalidRequestError("--store is the store of the web UI's pages: add --ui")
    try:
        config = ServerConfig.model_validate(settings)
    except ValidationError as exc:
        reason, param = explain(exc, ServerConfig)
        # Name the flag the user typed, not the field it maps to.
        flag = f"--{param.replace('_', '-')}: " if param else ""
        raise InvalidRequestError(f"{flag}{reason}") from None
    if args.ray:
        from modelport.ray.app import SERVER_SETTINGS

        on_ray = {k: v for k, v in settings.items() if k in SERVER_SETTINGS}

        def ready_on_ray(base: str) -> None:
            ui = f", UI: {base}/ui/" if args.ui else ""
            _say(f"ready: {', '.join(models)}   (docs: {base}/docs{ui}, stop: Ctrl+C)\n")
            _say(_examples(base, next(iter(models)), api_key))

        return _ray.serve_on_ray(args, models, on_ray, config.load_options, _say, ready_on_ray)
    sock = bind_socket(args.host, args.port)
    base = base_url(sock)
    app = create_app(config)
    server = make_server(app, drain_timeout=args.shutdown_timeout, log_level=args.log_level)
    _say(f"modelport serving at {base} (OpenAI base URL: {base}/v1)")
    _say(f"loading {len(models)} model{'s' if len(models) > 1 else ''}:")

    def ready() -> None:
        ui = f", UI: {base}/ui/" if args.ui else ""
        _say(f"ready: {', '.join(models)}   (docs: {base}/docs{ui}, stop: Ctrl+C)\n")
        _say(_examples(base, next(iter(models)), api_key))

    server.on_ready = ready
    code = run_server(server, sock)
    error = app.state.modelport.models.error
    if error is not None:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        print(f"error: cannot load the model: {message}", file=sys.stderr)
        return 1
    _say("stopped")
    return code
