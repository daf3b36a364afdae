"""Helpers shared by the tracking commands (experiments, runs, models)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri",
        default=None,
        help="tracking store: a folder, sqlite:///file.db or postgresql+psycopg://... "
        "(default: $MODELPORT_TRACKING_URI, else ./modelport.db)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def missing_store(args: argparse.Namespace) -> str | None:
    """The path of the SQLite store these arguments name, when it does not exist yet.

    Reading commands say so instead of creating an empty database as a side effect.
    """
    from modelport.tracking.config import resolve_store

    location = resolve_store(args.tracking_uri)
    if not location.db_uri.startswith("sqlite:///"):
        return None
    path = location.db_uri[len("sqlite:///") :]
    return None if Path(path).exists() else path


def client(args: argparse.Namespace, *, create: bool = False) -> Any:
    """A client on the chosen store; a missing SQLite store is a NotFoundError unless ``create``."""
    from modelport.errors import NotFoundError
    from modelport.tracking import TrackingClient

    path = missing_store(args)
    if path is not None and not create:
        raise NotFoundError(
            f"No tracking store at {path}: log a run there first, or choose one with "
            "--tracking-uri or MODELPORT_TRACKING_URI"
        )
    return TrackingClient(args.tracking_uri)


def listing_client(args: argparse.Namespace) -> Any | None:
    """For the list commands: a client, or None once it is said that there is no store yet
    (an empty list: listing does not create the database)."""
    from modelport.tracking import TrackingClient

    path = missing_store(args)
    if path is None:
        return TrackingClient(args.tracking_uri)
    if args.json:
        print_json([])
    else:
        print(f"No tracking store at {path} yet (choose one with --tracking-uri).")
    return None


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def duration(start: int, end: int | None) -> str:
    if end is None:
        return "-"
    seconds = max(0.0, (end - start) / 1000)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def compact(values: dict[str, Any], limit: int = 3) -> str:
    items = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()]
    shown = ", ".join(items[:limit])
    return shown + (f", +{len(items) - limit}" if len(items) > limit else "") if items else "-"


_NO_WRAP = {"ID", "Run ID", "Version"}


def table(title: str | None, columns: list[str], rows: list[list[str]], empty: str) -> None:
    from rich.console import Console
    from rich.table import Table

    # Piped output is not squeezed into 80 columns (rich's default without a terminal).
    console = Console(width=None if sys.stdout.isatty() else 160)
    if not rows:
        console.print(empty)
        return
    output = Table(title=title, title_justify="left")
    for column in columns:
        output.add_column(column, overflow="fold", no_wrap=column in _NO_WRAP)
    for row in rows:
        output.add_row(*row)
    console.print(output)
