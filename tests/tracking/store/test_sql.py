"""The SQL store, the same tests on SQLite and PostgreSQL (through TrackingClient)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelport.errors import AlreadyExistsError, InvalidRequestError, NotFoundError
from modelport.tracking import Metric, TrackingClient
from modelport.tracking.entities import RunStatus

UNKNOWN_RUN = "0" * 32


def _package(tmp_path: Path, chat_model_file: Path, name: str = "pkg") -> Path:
    import modelport

    modelport.save_model(tmp_path / name, python_model=chat_model_file)
    return tmp_path / name


def test_experiments_are_created_listed_and_found_by_name(client: TrackingClient) -> None:
    first = client.create_experiment("alpha", tags={"team": "nlp"})
    second = client.create_experiment("beta")
    assert first != second
    assert [e.name for e in client.search_experiments()] == ["alpha", "beta"]
    alpha = client.get_experiment_by_name("alpha")
    assert alpha is not None and alpha.tags == {"team": "nlp"}
    assert alpha.artifact_location.endswith(f"/artifacts/{first}")
    assert client.get_experiment_by_name("gamma") is None


def test_runs_are_counted_per_experiment(client: TrackingClient) -> None:
    busy, idle = client.create_experiment("busy"), client.create_experiment("idle")
    for _ in range(3):
        client.create_run(busy)
    assert client.count_runs() == {busy: 3}
    assert idle not in client.count_runs()


def test_run_activity_is_the_count_and_the_latest_start_or_end(client: TrackingClient) -> None:
    busy, idle = client.create_experiment("busy"), client.create_experiment("idle")
    client.create_run(busy, start_time=1_000)
    ended = client.create_run(busy, start_time=2_000)
    client.set_terminated(ended.run_id, end_time=9_000)
    client.create_run(busy, start_time=5_000)  # still running: its start counts
    assert client.store.run_activity() == {busy: (3, 9_000)}
    assert idle not in client.store.run_activity()


def test_a_duplicate_experiment_name_is_refused(client: TrackingClient) -> None:
    client.create_experiment("alpha")
    with pytest.raises(AlreadyExistsError, match="'alpha' already exists"):
        client.create_experiment("alpha")


def test_an_unknown_experiment_id_raises_not_found_naming_it(client: TrackingClient) -> None:
    with pytest.raises(NotFoundError, match="'424242'"):
        client.get_experiment("424242")
    with pytest.raises(NotFoundError, match="'424242'"):
        client.create_run("424242")


def test_a_run_records_params_metrics_and_tags(client: TrackingClient) -> None:
    experiment = client.create_experiment("exp")
    run = client.create_run(experiment, run_name="first", tags={"team": "nlp"})
    assert run.info.status == RunStatus.RUNNING and run.info.run_name == "first"
    client.log_param(run.run_id, "lr", 0.01)
    client.log_param(run.run_id, "lr", 0.01)  # the same value again is fine
    client.log_metric(run.run_id, "loss", 2.0, step=0, timestamp=1000)
    client.log_metric(run.run_id, "loss", 1.0, step=1, timestamp=2000)
    client.log_metric(run.run_id, "loss", 1.5, step=1, timestamp=1500)  # older at the same step
    client.set_tag(run.run_id, "team", "vision")
    client.set_terminated(run.run_id)

    stored = client.get_run(run.run_id)
    assert stored.data.params == {"lr": "0.01"}
    assert stored.data.metrics == {"loss": 1.0}
    assert stored.data.tags == {"team": "vision"}
    assert stored.info.status == RunStatus.FINISHED and stored.info.end_time is not None
    history = client.get_metric_history(run.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 2.0), (1, 1.5), (1, 1.0)]


def test_a_param_cannot_change_once_logged(client: TrackingClient) -> None:
    run = client.create_run(client.create_experiment("exp"))
    client.log_param(run.run_id, "lr", "0.01")
    with pytest.raises(InvalidRequestError, match=r"'lr'.*already '0.01'.*cannot change"):
        client.log_param(run.run_id, "lr", "0.02")


def test_log_batch_is_all_or_nothing(client: TrackingClient) -> None:
    run = client.create_run(client.create_experiment("exp"))
    with pytest.raises(InvalidRequestError, match="finite"):
        client.log_batch(
            run.run_id,
            metrics=[Metric("ok", 1.0, 0, 1), Metric("bad", float("nan"), 0, 1)],
            params={"p": "v"},
        )
    stored = client.get_run(run.run_id)
    assert stored.data.metrics == {} and stored.data.params == {}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_metric_values_are_rejected(client: TrackingClient, value: float) -> None:
    run = client.create_run(client.create_experiment("exp"))
    with pytest.raises(InvalidRequestError, match="finite numbers"):
        client.log_metric(run.run_id, "loss", value)
    assert client.get_metric_history(run.run_id, "loss") == []


def test_logging_to_an_unknown_run_raises_not_found_naming_it(client: TrackingClient) -> None:
    with pytest.raises(NotFoundError, match=f"Run '{UNKNOWN_RUN}' not found"):
        client.log_metric(UNKNOWN_RUN, "loss", 1.0)
    with pytest.raises(NotFoundError, match=UNKNOWN_RUN):
        client.get_run(UNKNOWN_RUN)


def test_a_malformed_run_id_is_rejected_with_the_rule(client: TrackingClient) -> None:
    with pytest.raises(InvalidRequestError, match="32 lowercase hexadecimal"):
        client.get_run("../etc")


def test_nested_runs_record_their_parent(client: TrackingClient) -> None:
    experiment = client.create_experiment("exp")
    parent = client.create_run(experiment)
    child = client.create_run(experiment, parent_run_id=parent.run_id)
    assert client.get_run(child.run_id).info.parent_run_id == parent.run_id


def test_search_runs_filters_and_orders(client: TrackingClient) -> None:
    experiment = client.create_experiment("exp")
    other = client.create_experiment("other")
    ids = {}
    for i, (acc, lr) in enumerate([(0.7, "0.1"), (0.95, "0.01"), (0.9, "0.01")]):
        run = client.create_run(experiment, run_name=f"r{i}", start_time=1000 + i)
        client.log_metric(run.run_id, "acc", acc)
        client.log_param(run.run_id, "lr", lr)
        ids[f"r{i}"] = run.run_id
    client.create_run(experiment, run_name="no-metrics", start_time=999)
    client.create_run(other, run_name="elsewhere")

    def names(runs: list) -> list[str]:
        return [r.info.run_name for r in runs]

    assert names(client.search_runs(experiment)) == ["r2", "r1", "r0", "no-metrics"]
    assert names(
        client.search_runs(experiment, "metrics.acc > 0.8", order_by=["metrics.acc DESC"])
    ) == ["r1", "r2"]
    assert names(client.search_runs(experiment, "params.lr = '0.01' and metrics.acc < 0.92")) == [
        "r2"
    ]
    assert names(client.search_runs(experiment, order_by="metrics.acc")) == [
        "r0",
        "r2",
        "r1",
        "no-metrics",  # runs without the metric come last
    ]
    assert names(client.search_runs(experiment, "run_name LIKE 'r%'", max_results=2)) == [
        "r2",
        "r1",
    ]
    assert names(client.search_runs([experiment, other], "attributes.run_name = 'elsewhere'")) == [
        "elsewhere"
    ]
    with pytest.raises(NotFoundError, match="'999'"):
        client.search_runs("999")


WORKER = """
import sys, time
from pathlib import Path
from modelport.tracking import TrackingClient

uri, artifact_root, package, go, index, metrics, every = sys.argv[1:]
client = TrackingClient(uri, artifact_root=artifact_root)
Path(go + "-ready-" + index).touch()
deadline = time.monotonic() + 120
while not Path(go).exists():  # start together
    if time.monotonic() > deadline:
        sys.exit("never told to start")
    time.sleep(0.005)
experiment = client.get_or_create_experiment("concurrency")
run = client.create_run(experiment.experiment_id, run_name=f"worker-{index}")
for step in range(int(metrics)):
    client.log_metric(run.run_id, "loss", 1.0 / (step + 1), step=step)
    if step % int(every) == 0:
        client.register_model(package, "shared-bot", tags={"worker": index})
client.set_terminated(run.run_id)
"""
WORKERS = 8
METRICS_PER_WORKER = 30
VERSIONS_PER_WORKER = 3


def test_eight_processes_log_and_register_at_once_without_losing_a_row(
    store_uri: str, tmp_path: Path, chat_model_file: Path
) -> None:
    """From a database that does not exist yet: migrations, experiment creation, metrics and
    registrations race; every row arrives and the versions are 1..N, each exactly once."""
    package = _package(tmp_path, chat_model_file)
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                store_uri,
                str(tmp_path / "artifacts"),
                str(package),
                str(go),
                str(i),
                str(METRICS_PER_WORKER),
                str(METRICS_PER_WORKER // VERSIONS_PER_WORKER),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    deadline = time.monotonic() + 120  # every worker has imported and connected, then go
    while len(list(tmp_path.glob("go-ready-*"))) < WORKERS:
        gone = [process for process in processes if process.poll() is not None]
        if gone or time.monotonic() > deadline:
            for process in processes:
                process.kill()
            said = [process.communicate()[1][-2000:] for process in processes]
            raise AssertionError(
                f"the workers did not all get ready: {[text for text in said if text]}"
            )
        time.sleep(0.01)
    go.touch()
    errors = []
    for process in processes:
        try:
            _, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        if process.returncode != 0:
            errors.append(stderr[-2000:])
    assert errors == [], "a worker failed"

    client = TrackingClient(store_uri, artifact_root=tmp_path / "artifacts")
    experiments = client.search_experiments()
    assert [e.name for e in experiments] == ["concurrency"]
    runs = client.search_runs(experiments[0].experiment_id)
    assert len(runs) == WORKERS
    for run in runs:
        assert run.info.status == RunStatus.FINISHED
        history = client.get_metric_history(run.run_id, "loss")
        assert [m.step for m in history] == list(range(METRICS_PER_WORKER))
    versions = client.search_model_versions("shared-bot")
    assert [v.version for v in versions] == list(range(1, WORKERS * VERSIONS_PER_WORKER + 1))
    per_worker = [sum(v.tags["worker"] == str(i) for v in versions) for i in range(WORKERS)]
    assert per_worker == [VERSIONS_PER_WORKER] * WORKERS
