"""``modelport clean PATH [--dry-run]``: remove the temporary folders that killed saves left.

PATH is a folder, searched all the way down (not through symbolic links, not into packages), a
package, whose own saves' folders beside it are looked at, or one such temporary folder. A folder of a save still running is
left alone and said so; see :mod:`modelport.package.staging` for how the two are told apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.cli.info import format_size
from modelport.errors import InvalidRequestError, NotFoundError

if TYPE_CHECKING:
    from modelport.package.staging import TempFolder


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "clean",
        help="remove the temporary folders left by killed saves",
        description=(
            "List the hidden temporary folders (.NAME.tmp-*) that saves killed midway left "
            "below PATH, with their sizes, and remove them. Folders of saves still running are "
            "left alone. Saving or loading a package also removes its own such folders."
        ),
    )
    parser.add_argument(
        "path",
        metavar="PATH",
        help="a folder (searched recursively), a package (its folders beside it), or one "
        "temporary folder",
    )
    parser.add_argument("--dry-run", action="store_true", help="list them, remove nothing")
    parser.add_argument("--json", action="store_true", help="print what was found as JSON")
    parser.set_defaults(func=run)


def _plural(count: int) -> str:
    return f"{count} temporary folder{'' if count == 1 else 's'}"


def _why_left(folder: TempFolder) -> str:
    from modelport.package.staging import UNLOCKED_STALE_AFTER_S

    if folder.state == "in use":
        return folder.owner_text
    if folder.state == "recent":
        return (
            f"no lock and changed in the last {UNLOCKED_STALE_AFTER_S / 60:.0f} minutes: "
            "it may be a save starting"
        )
    return "cannot tell whether its save is still running"


def run(args: argparse.Namespace) -> int:
    from modelport.package.manifest import MANIFEST_FILE
    from modelport.package.staging import (
        inspect_folder,
        remove_if_stale,
        target_of,
        temp_folders_below,
        temp_folders_beside,
    )

    root = Path(args.path).expanduser()
    if not root.exists():
        raise NotFoundError(f"No folder at '{args.path}'")
    if not root.is_dir():
        raise InvalidRequestError(
            f"'{args.path}' is a file; give the folder that holds the packages"
        )
    is_package = (root / MANIFEST_FILE).is_file()
    if target_of(root) is not None:  # one temporary folder, as a listing names it
        paths = [root]
    elif is_package:
        paths = temp_folders_beside(root)
    else:
        paths = temp_folders_below(root)
    folders = [inspect_folder(path) for path in paths]
    stale = [f for f in folders if f.state == "stale"]
    removed: list[TempFolder] = []
    failures: list[str] = []
    if not args.dry_run:
        for folder in stale:
            try:
                if remove_if_stale(folder.path):
                    removed.append(folder)
            except OSError as exc:
                failures.append(f"error: cannot remove {folder.path}: {exc.strerror or exc}")
    if args.json:
        names = {f.path for f in removed}
        print(
            json.dumps(
                [
                    {
                        "path": str(f.path),
                        "target": str(f.target),
                        "state": f.state,
                        "size_bytes": f.size_bytes,
                        "owner": f.owner,
                        "removed": f.path in names,
                    }
                    for f in folders
                ],
                indent=2,
            )
        )
    else:
        _print_report(root, is_package, stale if args.dry_run else removed, folders, args.dry_run)
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


def _print_report(
    root: Path,
    is_package: bool,
    listed: list[TempFolder],
    folders: list[TempFolder],
    dry_run: bool,
) -> None:
    where = f"beside {root}" if is_package else f"under {root}"
    if not listed:
        print(f"No temporary folders of killed saves {where}.")
    else:
        total = format_size(sum(f.size_bytes for f in listed))
        if dry_run:
            print(
                f"Would remove {_plural(len(listed))} left by killed saves ({total}); "
                "nothing removed (--dry-run):"
            )
        else:
            print(f"Removed {_plural(len(listed))} left by killed saves ({total}):")
        sizes = [format_size(f.size_bytes) for f in listed]
        width = max(len(size) for size in sizes)
        paths = max(len(str(f.path)) for f in listed)
        for size, folder in zip(sizes, listed, strict=True):
            print(f"  {size:>{width}}  {folder.path!s:<{paths}}  (save of {folder.target})")
    for folder in folders:
        if folder.state != "stale":
            print(f"Left alone: {folder.path} ({_why_left(folder)})")
