"""``search_runs`` on a large experiment: how long one page takes, and how many rows it reads.

Builds an experiment of ``--runs`` runs (10,000 by default; each with 4 params, 3 metrics logged
at 3 steps and 2 tags) in a fresh SQLite store, or in ``--tracking-uri`` (say an empty PostgreSQL
database), by bulk inserts; then times each query with ``max_results=--max-results`` (100) and
reports the median of ``--repeat`` calls, with the rows that one call loaded into Python (runs,
params and tags; metric values are read as plain columns and not counted).

    PYTHONPATH=src python bench/search_runs.py [--runs 10000] [--max-results 100] [--repeat 5]

To compare with another version of modelport, run the same script with ``PYTHONPATH`` pointing
at that version's ``src``.
"""

from __future__ import annotations

import argparse
import inspect
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, text

from modelport.tracking import TrackingClient
from modelport.tracking.store.models import SqlMetric, SqlParam, SqlRun, SqlTag

QUERIES: dict[str, dict[str, Any]] = {
    "newest first (the default)": {},
    "metric and param filter, by a metric": {
        "filter_string": "metrics.acc > 0.5 and params.optimizer = 'adam'",
        "order_by": ["metrics.loss ASC"],
    },
    "by a param, then start_time": {"order_by": ["params.lr DESC", "start_time"]},
    "tag LIKE, by a tag": {"filter_string": "tags.team LIKE 'n%'", "order_by": ["tags.note"]},
}
CHUNK = 5000


def build_experiment(client: TrackingClient, runs: int, seed: int = 0) -> str:
    """An experiment of ``runs`` runs, inserted in bulk (the store's own calls would take
    minutes); returns its id."""
    rng = random.Random(seed)
    experiment_id = client.create_experiment(f"bench-{runs}")
    artifacts = Path(client.get_experiment(experiment_id).artifact_location)
    rows: dict[Any, list[dict[str, Any]]] = {SqlRun: [], SqlParam: [], SqlMetric: [], SqlTag: []}
    start = 1_700_000_000_000
    for index in range(runs):
        run_id = f"{rng.getrandbits(128):032x}"
        began = start + index * 1000
        rows[SqlRun].append(
            {
                "run_id": run_id,
                "experiment_id": int(experiment_id),
                "run_name": f"run-{index:05d}",
                "status": rng.choice(["FINISHED", "FINISHED", "FAILED"]),
                "start_time": began,
                "end_time": began + rng.randrange(1000, 100_000),
                "artifact_uri": str(artifacts / run_id / "artifacts"),
                "parent_run_id": None,
            }
        )
        params = {
            "lr": rng.choice(["0.1", "0.01", "0.001", "0.0001"]),
            "batch": rng.choice(["16", "32", "64"]),
            "optimizer": rng.choice(["adam", "sgd"]),
            "seed": str(index),
        }
        rows[SqlParam] += [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()]
        for key in ("loss", "acc", "latency"):
            for step in range(3):
                rows[SqlMetric].append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "value": rng.random(),
                        "step": step,
                        "timestamp": began + step,
                    }
                )
        tags = {"team": rng.choice(["nlp", "vision", "speech"]), "note": f"note {rng.random()}"}
        rows[SqlTag] += [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
    with client.store.engine.begin() as connection:
        for table, values in rows.items():
            for first in range(0, len(values), CHUNK):
                connection.execute(insert(table), values[first : first + CHUNK])
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))  # what autovacuum does soon after, in real life
    return experiment_id


@contextmanager
def counting_loaded_rows() -> Iterator[Callable[[], int]]:
    """Count the ORM rows (runs, params, tags) loaded while the block runs."""
    loaded = 0

    def count(_target: Any, _context: Any) -> None:
        nonlocal loaded
        loaded += 1

    classes = (SqlRun, SqlParam, SqlTag)
    for cls in classes:
        event.listen(cls, "load", count)
    try:
        yield lambda: loaded
    finally:
        for cls in classes:
            event.remove(cls, "load", count)


def supports_paging(client: TrackingClient) -> bool:
    return "page_token" in inspect.signature(client.search_runs).parameters


def time_query(repeat: int, search: Callable[[], list[Any]]) -> tuple[float, int, int]:
    """(median seconds, rows loaded by one call, runs returned)."""
    search()  # warm: connections, statement caches
    with counting_loaded_rows() as loaded:
        found = search()
        rows = loaded()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        search()
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows, len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--max-results", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tracking-uri", default=None, help="default: a temporary SQLite store")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        client = TrackingClient(args.tracking_uri or folder, artifact_root=Path(folder) / "a")
        started = time.perf_counter()
        experiment_id = build_experiment(client, args.runs)
        print(
            f"{args.runs} runs in {client.display_uri} "
            f"(built in {time.perf_counter() - started:.1f}s); max_results={args.max_results}"
        )
        print(f"{'query':<40} {'median':>10} {'rows loaded':>12} {'returned':>9}")

        def searcher(query: dict[str, Any]) -> Callable[[], list[Any]]:
            return lambda: client.search_runs(experiment_id, max_results=args.max_results, **query)

        searches = {name: searcher(query) for name, query in QUERIES.items()}
        if supports_paging(client):
            page = client.search_runs(experiment_id, max_results=args.max_results)
            for _ in range(args.runs // args.max_results // 2 - 1):
                page = client.search_runs(
                    experiment_id, max_results=args.max_results, page_token=page.token
                )
            token = page.token
            searches["a page in the middle (page_token)"] = lambda: client.search_runs(
                experiment_id, max_results=args.max_results, page_token=token
            )
        for name, search in searches.items():
            seconds, rows, returned = time_query(args.repeat, search)
            print(f"{name:<40} {seconds * 1000:>8.1f}ms {rows:>12} {returned:>9}")


if __name__ == "__main__":
    main()
