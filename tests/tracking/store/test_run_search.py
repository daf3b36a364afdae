"""search_runs in SQL gives what evaluating the search language in Python on every run gives.

A seeded experiment with ties, missing values, case and wildcard characters; each filter and
order is run by the store (SQLite and PostgreSQL) and by a plain Python evaluation of the rules
in ``modelport.tracking.search``, and the two lists must be equal.
"""

from __future__ import annotations

import operator
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event

from modelport.errors import InvalidRequestError
from modelport.tracking import TrackingClient
from modelport.tracking.entities import RunStatus
from modelport.tracking.search import parse_filter, parse_order_by
from modelport.tracking.store.models import SqlRun

RUNS = 40
START_TIMES = [1_000, 2_000, 3_000, 4_000, 5_000]
NAMES = ["alpha", "Alpha", "beta_1", "beta-1", "gamma%", "a*b", "a?b", "[x]", "ünï", "al pha"]
OPTIMIZERS = ["adam", "Adam", "sgd", "a_b", "axb", "a%b", "50%"]
NOTES = ["", "x*y", "x?y", "[a]", "line\nbreak", "100%", "ü", "Z", "trailing ", "a\\b"]
METRIC_VALUES = [0.1, 0.5, 0.9, -1.0, 0.0, 2.5]
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass
class Logged:
    """What the test logged for one run: the values the search must see."""

    run_id: str
    experiment_id: str
    run_name: str
    start_time: int
    status: str = RunStatus.RUNNING
    end_time: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    points: dict[str, list[tuple[int, int, int, float]]] = field(default_factory=dict)
    """metric key → (step, timestamp, order logged, value) of each point."""

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value: highest step, then newest timestamp, then the last logged."""
        return {key: max(points)[3] for key, points in self.points.items()}

    def value(self, entity: str, key: str) -> Any:
        if entity == "attributes":
            return getattr(self, key)
        found: Any = getattr(self, entity).get(key)
        return found


def _log_runs(client: TrackingClient, experiment_id: str, count: int, rng: random.Random) -> list:
    runs = []
    order = 0
    for _ in range(count):
        tags = {}
        if rng.random() < 0.7:
            tags["team"] = rng.choice(["nlp", "NLP", "vision", "speech"])
        if rng.random() < 0.7:
            tags["note"] = rng.choice(NOTES)
        run = client.create_run(
            experiment_id,
            run_name=rng.choice(NAMES),
            tags=tags,
            start_time=rng.choice(START_TIMES),
        )
        logged = Logged(
            run.run_id, experiment_id, run.info.run_name, run.info.start_time, tags=tags
        )
        params = {}
        if rng.random() < 0.8:
            params["lr"] = rng.choice(["0.1", "0.01", "0.001", "1e-3"])
        if rng.random() < 0.7:
            params["opt"] = rng.choice(OPTIMIZERS)
        if rng.random() < 0.3:
            params["learning rate"] = rng.choice(["1", "2", "3"])
        client.log_batch(run.run_id, params=params)
        logged.params = params
        for key, chance in (("acc", 0.8), ("loss", 0.6), ("train/loss", 0.5)):
            if rng.random() >= chance:
                continue
            for _ in range(rng.randint(1, 4)):  # steps and timestamps repeat: ties
                step, timestamp = rng.choice([0, 1, 2]), rng.choice([10, 20, 30])
                value = rng.choice(METRIC_VALUES)
                client.log_metric(run.run_id, key, value, step=step, timestamp=timestamp)
                logged.points.setdefault(key, []).append((step, timestamp, order, value))
                order += 1
        status = rng.choice(RunStatus.ALL)
        if status != RunStatus.RUNNING:
            logged.end_time = logged.start_time + rng.choice([5, 10, 20])
            client.set_terminated(run.run_id, status, end_time=logged.end_time)
        logged.status = status
        runs.append(logged)
    return runs


@dataclass
class Experiment:
    client: TrackingClient
    experiment_id: str
    other_id: str
    runs: list[Logged]


@pytest.fixture
def experiment(client: TrackingClient) -> Experiment:
    rng = random.Random(20240610)
    experiment_id = client.create_experiment("searched")
    other_id = client.create_experiment("other")
    runs = _log_runs(client, experiment_id, RUNS, rng)
    runs += _log_runs(client, other_id, 6, rng)
    return Experiment(client, experiment_id, other_id, runs)


def _matches(run: Logged, entity: str, key: str, op: str, value: Any) -> bool:
    actual = run.value(entity, key)
    if actual is None:
        return False
    if op in ("like", "not like"):
        pattern = ".*".join(re.escape(part) for part in value.split("%"))
        found = re.fullmatch(pattern, actual, re.DOTALL) is not None
        return found == (op == "like")
    return OPS[op](actual, value)


def expected(
    runs: list[Logged], filter_string: str | None, order_by: list[str] | None
) -> list[str]:
    """The run ids the search language selects, in its order (ties: by run id)."""
    clauses = parse_filter(filter_string)
    selected = [
        run for run in runs if all(_matches(run, c.entity, c.key, c.op, c.value) for c in clauses)
    ]
    ordered = sorted(selected, key=lambda run: run.run_id)
    # Stable sorts from the last key to the first; runs without the value go last.
    for entity, key, descending in reversed(parse_order_by(order_by)):
        present = [run for run in ordered if run.value(entity, key) is not None]
        missing = [run for run in ordered if run.value(entity, key) is None]
        present.sort(key=lambda run: run.value(entity, key), reverse=descending)
        ordered = present + missing
    return [run.run_id for run in ordered]


FILTERS = [
    None,
    "metrics.acc > 0.4",
    "metrics.acc >= 0.5",
    "metrics.acc = 0.5",
    "metrics.acc != 0.5",
    "metrics.acc < 0",
    "metrics.acc <= 0.1",
    "metrics.`train/loss` > 0.2",
    "metrics.train/loss == 2.5",
    "metrics.loss > -5",
    "params.lr = '0.01'",
    "params.lr != '0.01'",
    "params.opt LIKE 'a%'",
    "params.opt LIKE 'a_b'",
    "params.opt LIKE '%\\%'",
    "params.opt LIKE '%'",
    "params.opt NOT LIKE 'a%'",
    "params.opt like 'ADAM'",
    "params.`learning rate` = '3'",
    "tags.team = 'nlp'",
    "tags.team LIKE 'n%'",
    "tags.note LIKE 'x*%'",
    "tags.note LIKE 'x?y'",
    "tags.note LIKE '[a]'",
    "tags.note LIKE '%break'",
    "tags.note LIKE 'line%'",
    "tags.note = ''",
    "tags.note LIKE 'a\\%'",
    "tags.note != 'Z'",
    "status = 'FINISHED'",
    "status != 'RUNNING'",
    "run_name LIKE 'a%'",
    "run_name LIKE '%b'",
    "attributes.run_name = 'Alpha'",
    "run_name LIKE '_x]'",
    "start_time >= 3000",
    "start_time < 2000.5",
    "end_time > 3010",
    "end_time != 0",
    "metrics.acc > 0.2 and params.lr = '0.01' and status != 'KILLED'",
    "tags.team != 'nlp' and metrics.loss <= 0.5 and run_name NOT LIKE 'a%'",
]
ORDERS = [
    None,
    ["metrics.acc"],
    ["metrics.acc DESC"],
    ["params.opt", "metrics.loss DESC"],
    ["tags.note DESC"],
    ["run_name"],
    ["end_time DESC", "start_time"],
    ["status", "run_id DESC"],
    ["metrics.`train/loss` ASC", "params.lr DESC"],
    ["start_time", "tags.team"],
]


def names(runs: list[Any]) -> list[str]:
    return [run.run_id for run in runs]


def test_every_filter_selects_what_the_python_evaluation_selects(experiment: Experiment) -> None:
    for index, filter_string in enumerate(FILTERS):
        order_by = ORDERS[index % len(ORDERS)]
        found = experiment.client.search_runs(experiment.experiment_id, filter_string, order_by)
        mine = [r for r in experiment.runs if r.experiment_id == experiment.experiment_id]
        assert names(found) == expected(mine, filter_string, order_by), (filter_string, order_by)
    assert any(expected(experiment.runs, f, None) for f in FILTERS[1:])  # the data is not empty


def test_every_order_sorts_as_the_python_evaluation_with_missing_values_last(
    experiment: Experiment,
) -> None:
    both = [experiment.experiment_id, experiment.other_id]
    for index, order_by in enumerate(ORDERS):
        filter_string = FILTERS[(3 * index) % len(FILTERS)]
        for filters in (None, filter_string):
            found = experiment.client.search_runs(both, filters, order_by)
            assert names(found) == expected(experiment.runs, filters, order_by), (filters, order_by)


def test_the_latest_metric_value_is_that_of_the_highest_step_then_the_newest_timestamp(
    experiment: Experiment,
) -> None:
    found = experiment.client.search_runs(experiment.experiment_id, "metrics.acc > -100")
    latest = {run.run_id: run.metrics.get("acc") for run in experiment.runs}
    assert [run.data.metrics["acc"] for run in found] == [latest[run.run_id] for run in found]


def test_pages_follow_one_another_without_repeating_or_skipping_a_run(
    experiment: Experiment,
) -> None:
    mine = [r for r in experiment.runs if r.experiment_id == experiment.experiment_id]
    for filter_string, order_by in (
        (None, None),
        ("metrics.acc >= 0", ["metrics.acc DESC"]),
        (None, ["tags.note", "params.opt DESC"]),
    ):
        pages: list[list[str]] = []
        token = None
        for _ in range(RUNS):  # a token that never ends would fail, not hang
            page = experiment.client.search_runs(
                experiment.experiment_id, filter_string, order_by, max_results=7, page_token=token
            )
            pages.append(names(page))
            token = page.token
            if token is None:
                break
        assert [run for page in pages for run in page] == expected(mine, filter_string, order_by)
        assert [len(page) for page in pages[:-1]] == [7] * (len(pages) - 1)
        assert len(pages) > 1


@pytest.fixture
def loaded_runs() -> Iterator[list[str]]:
    """The ids of the runs the ORM loads from the database while the test runs."""
    loaded: list[str] = []

    def count(run: SqlRun, _context: Any) -> None:
        loaded.append(run.run_id)

    event.listen(SqlRun, "load", count)
    yield loaded
    event.remove(SqlRun, "load", count)


def test_a_page_reads_no_more_runs_than_it_holds_and_one(
    experiment: Experiment, loaded_runs: list[str]
) -> None:
    page = experiment.client.search_runs(
        experiment.experiment_id, "metrics.acc > -100", ["metrics.acc"], max_results=3
    )
    assert len(page) == 3 and page.token is not None
    assert len(loaded_runs) <= 4  # the page and one more, which says that another page follows


def test_a_bad_page_token_is_an_invalid_request_naming_it(client: TrackingClient) -> None:
    experiment_id = client.create_experiment("exp")
    with pytest.raises(InvalidRequestError, match="Invalid page_token 'nope'") as caught:
        client.search_runs(experiment_id, page_token="nope")
    assert caught.value.param == "page_token"
