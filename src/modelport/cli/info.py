"""``modelport info -m URI``: the manifest and signature, readably."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("info", help="show a package's manifest and signature")
    parser.add_argument("-m", "--model-uri", required=True, help="package path or URI")
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(func=run)


def format_size(n: int) -> str:
    """``514 B``, ``3.0 MB``: sizes as people read them."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from modelport.flavors import describe_package
    from modelport.package.manifest import Manifest
    from modelport.package.uri import resolve_model_uri

    path = resolve_model_uri(args.model_uri)
    manifest = Manifest.read(path)
    if args.json:
        print(json.dumps(manifest.to_dict(), indent=2, default=str))
        return 0
    console = Console()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("path", str(path)),
        ("flavor", manifest.flavor),
        ("task", manifest.task or "-"),
        ("model uuid", manifest.model_uuid),
        ("created", manifest.created),
        ("format version", str(manifest.format_version)),
        ("python", manifest.python_version),
        ("modelport", manifest.modelport_version),
        ("streamable", "yes" if manifest.streamable else "no (streams as one chunk)"),
        ("size", format_size(manifest.size_bytes)),
        ("requirements", manifest.requirements),
        ("input example", manifest.input_example or "-"),
    ]
    rows += [(f"metadata.{k}", str(v)) for k, v in manifest.metadata.items()]
    rows += describe_package(path, manifest)
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    console.print("\n[bold]signature[/bold]")
    console.print(repr(manifest.signature) if manifest.signature else "  None", markup=False)
    return 0
