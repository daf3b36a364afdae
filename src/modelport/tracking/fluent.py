"""The fluent tracking API, as MLflow users know it: a current store, experiment and run.

State: the tracking URI and the current experiment are process-wide (in
:data:`~modelport.tracking.state.tracking_state`); the stack of active runs belongs to each
thread. Everything here delegates to a :class:`TrackingClient`.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from modelport.errors import InvalidRequestError, NotFoundError
from modelport.tracking.artifacts import check_artifact_path
from modelport.tracking.client import TrackingClient
from modelport.tracking.config import default_experiment_name, resolve_store
from modelport.tracking.entities import (
    Experiment,
    Metric,
    ModelInfo,
    ModelVersion,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from modelport.tracking.state import tracking_state
from modelport.tracking.store.base import now_ms

log = logging.getLogger(__name__)

_local = threading.local()


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Use this tracking store from now on (``None``: back to the environment / default)."""
    resolved = None if uri is None else os.fspath(uri)
    if resolved is not None:
        resolve_store(resolved)  # validate now, not at first use
    tracking_state.tracking_uri = resolved


def get_tracking_uri() -> str:
    """The tracking URI in effect (the folder of the default store when none was set)."""
    return tracking_state.location().tracking_uri


def client() -> TrackingClient:
    """A client on the tracking URI in effect (its store is opened once per process)."""
    return TrackingClient()


# --- experiments ------------------------------------------------------------------------------


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment current, creating it (by name) if missing."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidRequestError(
            "set_experiment() needs exactly one of experiment_name or experiment_id"
        )
    tracking = client()
    if experiment_name is not None:
        experiment = tracking.get_or_create_experiment(experiment_name)
    else:
        experiment = tracking.get_experiment(str(experiment_id))
    tracking_state.experiment_name = experiment.name
    return experiment


def _current_experiment_id() -> str:
    tracking = client()
    name = tracking_state.experiment_name or default_experiment_name()
    experiment = tracking.get_experiment_by_name(name)
    if experiment is None:
        experiment = tracking.get_or_create_experiment(name)
    return experiment.experiment_id


def get_experiment_by_name(name: str) -> Experiment | None:
    return client().get_experiment_by_name(name)


# --- runs -------------------------------------------------------------------------------------


def _stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_local, "runs", None)
    if stack is None:
        stack = []
        _local.runs = stack
    return stack


class ActiveRun(Run):
    """The run ``start_run`` began: a :class:`Run` snapshot and a context manager.

    Leaving the ``with`` block ends the run: FINISHED, or FAILED when an exception escapes.
    """

    def __init__(self, run: Run) -> None:
        super().__init__(run.info, run.data, run.models)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status = RunStatus.FINISHED if exc_type is None else RunStatus.FAILED
        if exc_type is KeyboardInterrupt:
            status = RunStatus.KILLED
        end_run(status, run_id=self.info.run_id)


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it active; use it as a context manager."""
    stack = _stack()
    if stack and not nested:
        raise InvalidRequestError(
            f"Run '{stack[-1].info.run_id}' is already active: end it with end_run(), or start "
            "a child run with start_run(nested=True)"
        )
    tracking = client()
    all_tags = dict(tags or {})
    if description is not None:
        all_tags["modelport.note.content"] = description
    if run_id is not None:
        run = tracking.get_run(run_id)
        if any(active.info.run_id == run_id for active in stack):
            raise InvalidRequestError(f"Run '{run_id}' is already active")
        tracking.set_terminated(run_id, RunStatus.RUNNING)
        if all_tags:
            tracking.log_batch(run_id, tags=all_tags)
        run = tracking.get_run(run_id)
    else:
        parent = stack[-1].info.run_id if stack else None
        run = tracking.create_run(
            experiment_id if experiment_id is not None else _current_experiment_id(),
            run_name=run_name,
            tags=all_tags,
            parent_run_id=parent,
        )
    active = ActiveRun(run)
    stack.append(active)
    return active


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def end_run(status: str = RunStatus.FINISHED, run_id: str | None = None) -> None:
    """End the active run (and any runs nested in it)."""
    stack = _stack()
    if not stack:
        return
    if run_id is not None and all(a.info.run_id != run_id for a in stack):
        return  # already ended
    while stack:
        active = stack.pop()
        try:
            client().set_terminated(active.info.run_id, status)
        except NotFoundError:
            log.warning("run %s disappeared from the tracking store", active.info.run_id)
        if run_id is None or active.info.run_id == run_id:
            break


def _run_id() -> str:
    run = active_run()
    if run is None:
        run = start_run()
    return run.info.run_id


def last_active_run_id() -> str | None:
    run = active_run()
    return run.info.run_id if run else None


def get_run(run_id: str) -> Run:
    return client().get_run(run_id)


def log_param(key: str, value: Any) -> Any:
    """Log a param of the active run (a run starts if none is active). Params never change."""
    return client().log_param(_run_id(), key, value)


def log_params(params: Mapping[str, Any]) -> None:
    client().log_batch(_run_id(), params=params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log a metric; the value must be a finite number (NaN and ±inf are rejected)."""
    client().log_metric(_run_id(), key, value, step, timestamp)


def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    if not isinstance(metrics, Mapping):
        raise InvalidRequestError(
            f"metrics must be a dict of key → number, got {type(metrics).__name__}"
        )
    stamp = timestamp or now_ms()
    client().log_batch(
        _run_id(), metrics=[Metric(k, v, step or 0, stamp) for k, v in metrics.items()]
    )


def set_tag(key: str, value: Any) -> None:
    client().set_tag(_run_id(), key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    client().log_batch(_run_id(), tags=tags)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    client().log_artifacts(_run_id(), local_dir, artifact_path)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    root = client().get_run(_run_id()).info.artifact_uri
    relative = check_artifact_path(artifact_path)
    return f"{root}/{relative}" if relative else root


def search_runs(
    experiment_ids: Sequence[str] | str | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | str | None = None,
    max_results: int = 1000,
    experiment_names: Sequence[str] | None = None,
    output_format: str = "list",
) -> Any:
    """Runs of the given experiments (default: the current one) matching ``filter_string``.

    Returns a list of :class:`Run` ordered by ``order_by`` (default newest first), e.g.
    ``search_runs(filter_string="metrics.acc > 0.9", order_by=["metrics.acc DESC"])``; with
    ``output_format="pandas"``, a DataFrame with MLflow's columns (``run_id``, ``status``,
    ``metrics.<key>``, ``params.<key>``, ``tags.<key>`` …).
    """
    if output_format not in ("list", "pandas"):
        raise InvalidRequestError(
            f"output_format must be 'list' or 'pandas', got {output_format!r}",
            param="output_format",
        )
    tracking = client()
    ids: list[str] = []
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    ids += list(experiment_ids or [])
    for name in experiment_names or []:
        experiment = tracking.get_experiment_by_name(name)
        if experiment is None:
            raise NotFoundError(f"Experiment '{name}' not found", param="experiment_names")
        ids.append(experiment.experiment_id)
    if not ids:
        ids = [_current_experiment_id()]
    runs = tracking.search_runs(ids, filter_string, order_by, max_results)
    return runs if output_format == "list" else _runs_frame(runs)


def _runs_frame(runs: list[Run]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise InvalidRequestError(
            "output_format='pandas' needs pandas (pip install pandas); or use the default list",
            param="output_format",
        ) from None
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "run_name": run.info.run_name,
            "status": run.info.status,
            "artifact_uri": run.info.artifact_uri,
            "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(run.info.end_time, unit="ms", utc=True)
            if run.info.end_time is not None
            else None,
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    columns = [
        "run_id",
        "experiment_id",
        "run_name",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    return pd.DataFrame(rows, columns=columns + sorted({k for r in rows for k in r} - set(columns)))


# --- models -----------------------------------------------------------------------------------


def log_model(
    name: str | None = None,
    python_model: Any = None,
    *,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    **arguments: Any,
) -> ModelInfo:
    """Log a model into the active run (a run starts if none is active).

    The model goes in its flavor's keyword (``python_model=``, ``transformers_model=`` …); the
    other keywords go to that flavor's ``save_model`` (see ``TrackingClient.log_model``).
    """
    if name is None:
        name = artifact_path  # the MLflow 2 spelling
    elif artifact_path is not None and artifact_path != name:
        raise InvalidRequestError("pass the model's name once: name= or artifact_path=, not both")
    if name is None:
        raise InvalidRequestError(
            "log_model() needs a name, e.g. log_model('model', python_model=...)"
        )
    if python_model is not None:
        arguments["python_model"] = python_model
    return client().log_model(
        _run_id(), name, registered_model_name=registered_model_name, **arguments
    )


def register_model(
    model_uri: str | os.PathLike[str],
    name: str,
    tags: Mapping[str, Any] | None = None,
    description: str = "",
) -> ModelVersion:
    """Register ``model_uri`` as the next version of ``name``."""
    return client().register_model(model_uri, name, tags=tags, description=description)


def _end_runs_at_exit() -> None:
    try:
        while active_run() is not None:
            end_run()
    except Exception as exc:  # the store may be gone at interpreter exit
        log.debug("could not end the active runs at exit: %r", exc)


atexit.register(_end_runs_at_exit)

__all__ = [
    "ActiveRun",
    "RunData",
    "RunInfo",
    "active_run",
    "client",
    "end_run",
    "get_artifact_uri",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "last_active_run_id",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "register_model",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
