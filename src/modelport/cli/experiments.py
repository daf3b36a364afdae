"""``modelport experiments list``."""

from __future__ import annotations

import argparse
from typing import Any

from modelport.cli._tracking import (
    add_store_arguments,
    listing_client,
    print_json,
    table,
    when,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("experiments", help="list tracking experiments")
    commands = parser.add_subparsers(dest="experiments_command", metavar="COMMAND", required=True)
    list_parser = commands.add_parser("list", help="list the experiments of the tracking store")
    add_store_arguments(list_parser)
    list_parser.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    tracking = listing_client(args)
    if tracking is None:
        return 0
    experiments = tracking.search_experiments()
    if args.json:
        print_json([e.to_dict() for e in experiments])
        return 0
    counts = tracking.count_runs()
    table(
        f"Experiments in {tracking.display_uri}",
        ["ID", "Name", "Runs", "Created (UTC)", "Artifact location"],
        [
            [
                e.experiment_id,
                e.name,
                str(counts.get(e.experiment_id, 0)),
                when(e.creation_time),
                e.artifact_location,
            ]
            for e in experiments
        ],
        f"No experiments in {tracking.display_uri} yet.",
    )
    return 0
