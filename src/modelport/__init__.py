"""modelport: build, package, version and serve chat models behind an OpenAI-compatible API."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from modelport.flavors.python import save_model
from modelport.model import ChatModel, CompletionModel, Context, PythonModel, set_model
from modelport.package.load import LoadedModel, load_model
from modelport.signature import (
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    Signature,
    infer_signature,
)

if TYPE_CHECKING:
    from modelport.tracking import (
        TrackingClient,
        active_run,
        end_run,
        get_tracking_uri,
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

# The tracking API is imported on first use (it needs the `tracking` extra: SQLAlchemy, Alembic).
_TRACKING_NAMES = (
    "TrackingClient",
    "active_run",
    "end_run",
    "get_tracking_uri",
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
)


def __getattr__(name: str) -> object:
    if name in _TRACKING_NAMES:
        import modelport.tracking

        return getattr(modelport.tracking, name)
    raise AttributeError(f"module 'modelport' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_TRACKING_NAMES})


# Literal, not built from _TRACKING_NAMES: ruff and type checkers read the lazy re-exports here.
__all__ = [
    "ChatModel",
    "ColSpec",
    "CompletionModel",
    "Context",
    "LoadedModel",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "PythonModel",
    "Schema",
    "Signature",
    "TrackingClient",
    "__version__",
    "active_run",
    "end_run",
    "get_tracking_uri",
    "infer_signature",
    "load_model",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "register_model",
    "save_model",
    "search_runs",
    "set_experiment",
    "set_model",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
