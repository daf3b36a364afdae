"""``modelport runs list [--experiment NAME]`` and ``modelport runs show RUN_ID``."""

from __future__ import annotations

import argparse
from typing import Any

from modelport.cli._tracking import (
    add_store_arguments,
    client,
    compact,
    duration,
    listing_client,
    print_json,
    table,
    when,
)
from modelport.errors import NotFoundError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("runs", help="list and show tracked runs")
    commands = parser.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)

    list_parser = commands.add_parser("list", help="list runs, newest first")
    list_parser.add_argument("--experiment", default=None, help="only this experiment (by name)")
    list_parser.add_argument(
        "--filter", default=None, help="e.g. \"metrics.acc > 0.9 and params.lr = '0.01'\""
    )
    list_parser.add_argument(
        "--order-by", action="append", default=None, help="e.g. 'metrics.acc DESC' (repeatable)"
    )
    list_parser.add_argument("--max-results", type=int, default=100, help="at most this many")
    add_store_arguments(list_parser)
    list_parser.set_defaults(func=run_list)

    show_parser = commands.add_parser("show", help="show one run: params, metrics, tags, models")
    show_parser.add_argument("run_id", metavar="RUN_ID")
    add_store_arguments(show_parser)
    show_parser.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    tracking = listing_client(args)
    if tracking is None:
        return 0
    if args.experiment is not None:
        experiment = tracking.get_experiment_by_name(args.experiment)
        if experiment is None:
            known = ", ".join(e.name for e in tracking.search_experiments()) or "none yet"
            raise NotFoundError(f"Experiment '{args.experiment}' not found (experiments: {known})")
        experiments = [experiment]
    else:
        experiments = tracking.search_experiments()
    runs = (
        tracking.search_runs(
            [e.experiment_id for e in experiments], args.filter, args.order_by, args.max_results
        )
        if experiments
        else []
    )
    if args.json:
        print_json([r.to_dict() for r in runs])
        return 0
    names = {e.experiment_id: e.name for e in experiments}
    table(
        f"Runs of {args.experiment}" if args.experiment else "Runs",
        ["Run ID", "Name", "Experiment", "Status", "Started (UTC)", "Duration", "Metrics"],
        [
            [
                r.info.run_id,
                r.info.run_name,
                names.get(r.info.experiment_id, r.info.experiment_id),
                r.info.status,
                when(r.info.start_time),
                duration(r.info.start_time, r.info.end_time),
                compact(r.data.metrics),
            ]
            for r in runs
        ],
        "No runs found.",
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    from rich.console import Console

    tracking = client(args)
    run = tracking.get_run(args.run_id)
    artifacts = tracking.list_artifacts(run.info.run_id)
    if args.json:
        data = run.to_dict()
        data["artifacts"] = [a.path + ("/" if a.is_dir else "") for a in artifacts]
        print_json(data)
        return 0
    experiment = tracking.get_experiment(run.info.experiment_id)
    info = run.info
    table(
        f"Run {info.run_id}",
        ["Field", "Value"],
        [
            ["name", info.run_name],
            ["experiment", f"{experiment.name} (id {experiment.experiment_id})"],
            ["status", info.status],
            ["started (UTC)", when(info.start_time)],
            ["ended (UTC)", when(info.end_time)],
            ["duration", duration(info.start_time, info.end_time)],
            ["parent run", info.parent_run_id or "-"],
            ["artifacts", info.artifact_uri],
        ],
        "",
    )
    table(
        "Params",
        ["Key", "Value"],
        [[k, v] for k, v in sorted(run.data.params.items())],
        "No params.",
    )
    table(
        "Metrics (latest value)",
        ["Key", "Value"],
        [[k, f"{v:.6g}"] for k, v in sorted(run.data.metrics.items())],
        "No metrics.",
    )
    table("Tags", ["Key", "Value"], [[k, v] for k, v in sorted(run.data.tags.items())], "No tags.")
    table(
        "Models",
        ["Name", "Flavor", "Task", "URI", "Model uuid"],
        [[m.name, m.flavor, m.task or "-", m.model_uri, m.model_id] for m in run.models],
        "No models.",
    )
    Console().print(
        "Artifacts: " + (", ".join(a.path + ("/" if a.is_dir else "") for a in artifacts) or "-"),
        markup=False,
    )
    return 0
