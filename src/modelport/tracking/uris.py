"""``runs:/`` and ``models:/`` URIs, resolved to package folders in the tracking store.

- ``runs:/<run_id>/<path>``: an artifact of a run (a logged model is ``runs:/<run_id>/<name>``);
- ``models:/<name>/<version>``, ``models:/<name>/latest`` (the highest version),
  ``models:/<name>@<alias>``: a registered model version.

Importing :mod:`modelport.tracking` registers both schemes with the core, so every place that
loads or serves a model (``load_model``, ``modelport serve -m``) understands them. They resolve
against the current tracking URI (``set_tracking_uri`` or ``MODELPORT_TRACKING_URI``). A package
kept in object storage resolves to its local copy in the machine's cache (fetched once per
version: see :mod:`modelport.storage.cache`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from modelport.errors import InvalidRequestError, NotFoundError
from modelport.package.uri import register_uri_scheme
from modelport.storage import cache, objects
from modelport.tracking.artifacts import artifact_repository, check_artifact_path
from modelport.tracking.entities import ModelVersion, Run
from modelport.tracking.state import tracking_state
from modelport.tracking.validation import check_alias, check_name, check_run_id, check_version

MODELS_FORMS = "models:/<name>/<version>, models:/<name>/latest or models:/<name>@<alias>"


class ModelSource(Protocol):
    """What resolving a URI reads: runs and registered versions (a store or a client)."""

    def get_run(self, run_id: str) -> Run: ...

    def get_model_version(self, name: str, version: int) -> ModelVersion: ...

    def get_latest_version(self, name: str) -> ModelVersion: ...

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...


def _body(uri: str, scheme: str) -> str:
    if not isinstance(uri, str) or not uri.lower().startswith(f"{scheme}:"):
        raise InvalidRequestError(f"{uri!r} is not a {scheme}:/ URI", param="model")
    return uri[len(scheme) + 1 :].lstrip("/")


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``(run_id, artifact_path)`` of ``runs:/<run_id>/<path>``."""
    body = _body(uri, "runs")
    run_id, _, path = body.partition("/")
    if not run_id:
        raise InvalidRequestError(
            f"Invalid URI {uri!r}: use runs:/<run_id>/<artifact path>", param="model"
        )
    return check_run_id(run_id), check_artifact_path(path)


def parse_models_uri(uri: str) -> tuple[str, int | None, str | None]:
    """``(name, version, alias)`` of a ``models:/`` URI; version None with alias None = latest."""
    body = _body(uri, "models").rstrip("/")
    if "@" in body:
        name, _, alias = body.partition("@")
        if "/" in name or "/" in alias:
            raise InvalidRequestError(f"Invalid URI {uri!r}: use {MODELS_FORMS}", param="model")
        return check_name(name, "registered model name"), None, check_alias(alias)
    name, slash, version = body.rpartition("/")
    if not slash or not name or "/" in name:
        raise InvalidRequestError(f"Invalid URI {uri!r}: use {MODELS_FORMS}", param="model")
    check_name(name, "registered model name")
    if version.lower() == "latest":
        return name, None, None
    return name, check_version(version), None


def version_for(source: ModelSource, uri: str) -> ModelVersion:
    """The registered version a ``models:/`` URI names."""
    name, version, alias = parse_models_uri(uri)
    if alias is not None:
        return source.get_version_by_alias(name, alias)
    if version is None:
        return source.get_latest_version(name)
    return source.get_model_version(name, version)


def locate(source: ModelSource, uri: str) -> str:
    """Where the package a ``runs:/`` or ``models:/`` URI names is kept (a folder path or an
    ``s3://`` URI), without fetching it."""
    if uri.lower().startswith("runs:"):
        run_id, path = parse_runs_uri(uri)
        repository = artifact_repository(source.get_run(run_id).info.artifact_uri)
        repository.is_dir(path)  # NotFoundError when there is no such artifact
        return repository.uri_of(path)
    return version_for(source, uri).storage_location


def resolve(source: ModelSource, uri: str) -> Path:
    """The local folder (or file) a ``runs:/`` or ``models:/`` URI names."""
    if uri.lower().startswith("runs:"):
        run_id, path = parse_runs_uri(uri)
        run = source.get_run(run_id)
        return artifact_repository(run.info.artifact_uri).path_of(path)
    version = version_for(source, uri)
    if objects.is_remote(version.storage_location):
        try:
            return cache.local_copy(version.storage_location)
        except NotFoundError:
            pass  # said below, as for a local folder
    location = Path(version.storage_location)
    if objects.is_remote(version.storage_location) or not location.exists():
        raise NotFoundError(
            f"Version {version.version} of model '{version.name}' points to "
            f"'{version.storage_location}', which no longer exists",
            param="model",
        )
    return location


def resolve_with_current_store(uri: str) -> Path:
    """The resolver registered with the core: uses the store of the tracking URI in effect."""
    location = tracking_state.location()
    try:
        return resolve(tracking_state.store(location), uri)
    except NotFoundError as exc:
        # Running in the wrong folder is the usual cause: say which store was searched.
        raise NotFoundError(
            f"{exc.message} (in the tracking store {location.display_uri}; point "
            "MODELPORT_TRACKING_URI at another store if needed)",
            param=exc.param,
        ) from None


def register_schemes() -> None:
    register_uri_scheme("runs", resolve_with_current_store)
    register_uri_scheme("models", resolve_with_current_store)
