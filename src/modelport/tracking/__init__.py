"""Experiment tracking and the model registry.

Fluent API (module-level state, as in MLflow) and :class:`TrackingClient` (explicit). Importing
this package registers the ``runs:/`` and ``models:/`` URI schemes with the core. The store is
SQLite in the working directory by default (``./modelport.db``, ``./modelport-artifacts/``);
see ``docs/tracking.md``.
"""

from __future__ import annotations

from modelport.tracking.client import TrackingClient
from modelport.tracking.entities import (
    Experiment,
    LoggedModel,
    Metric,
    ModelInfo,
    ModelVersion,
    PagedList,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from modelport.tracking.fluent import (
    ActiveRun,
    active_run,
    end_run,
    get_artifact_uri,
    get_experiment_by_name,
    get_run,
    get_tracking_uri,
    last_active_run_id,
    log_artifact,
    log_artifacts,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    register_model,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from modelport.tracking.store.database import StoreError
from modelport.tracking.uris import register_schemes

register_schemes()

__all__ = [
    "ActiveRun",
    "Experiment",
    "LoggedModel",
    "Metric",
    "ModelInfo",
    "ModelVersion",
    "PagedList",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "StoreError",
    "TrackingClient",
    "active_run",
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
