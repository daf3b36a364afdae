"""Helpers shared by the commands that run a web server (``serve``, ``ui``)."""

from __future__ import annotations

import argparse
import logging
import socket

from modelport.errors import InvalidRequestError

API_KEY_ENV = "MODELPORT_API_KEY"


def add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="server log level (info: one access-log line per request)",
    )


def check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise InvalidRequestError(f"--port must be 0-65535, got {port}")


def configure_logging(level: str) -> None:
    """modelport's and uvicorn's loggers at ``level``, printed on stderr."""
    logging.getLogger("modelport").setLevel(level.upper())
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.DEBUG)
    logging.getLogger("uvicorn").setLevel(level.upper())


def base_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (an IPv6 host in brackets)."""
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    return f"http://{shown_host}:{port}"
