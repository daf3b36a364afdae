"""Entry point of the ``modelport`` command.

Each command module exposes ``register(subparsers)`` which adds its parser and sets
``func(args) -> int``. Errors from modelport's tree print as one line (exit 1); ``--debug`` shows
the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from modelport import __version__
from modelport.errors import ModelportError

# Command modules, in the order `modelport --help` lists them.
COMMAND_MODULES = [
    "modelport.cli.predict",
    "modelport.cli.info",
    "modelport.cli.clean",
    "modelport.cli.experiments",
    "modelport.cli.runs",
    "modelport.cli.models",
    "modelport.cli.serve",
    "modelport.cli.ui",
    "modelport.cli.demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modelport",
        description="Build, package, version and serve chat models behind an OpenAI-compatible API.",
    )
    parser.add_argument("--version", action="version", version=f"modelport {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModelportError as exc:
        if args.debug:
            raise
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except Exception as exc:  # an unexpected bug: still one line unless --debug
        if args.debug:
            raise
        print(
            f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
