"""Registering packages as numbered versions of a named model.

A version records its ``source`` (the URI it was registered from) and its ``storage_location``
(where the package is kept: a folder or an ``s3://`` URI): a ``runs:/`` source lives in the run's
artifacts, a ``models:/`` source reuses that version's location, and a plain folder or ``s3://``
URI is referenced where it is (log the model into a run first if the registry should own a
copy). Registering reads only the package's manifest, never the rest of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

from modelport.errors import InvalidRequestError, PackageError
from modelport.package.uri import resolve_model_uri
from modelport.storage import objects
from modelport.tracking.artifacts import read_manifest
from modelport.tracking.entities import ModelVersion
from modelport.tracking.uris import ModelSource, locate, parse_runs_uri, version_for
from modelport.tracking.validation import check_name


class ModelRegistry(ModelSource, Protocol):
    """What registering reads (the source's run or version) and writes (the new version)."""

    def create_model_version(
        self,
        name: str,
        source: str,
        storage_location: str,
        run_id: str | None = None,
        model_id: str | None = None,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
    ) -> ModelVersion: ...


def register_model(
    registry: ModelRegistry,
    model_uri: str | os.PathLike[str],
    name: str,
    *,
    tags: Mapping[str, Any] | None = None,
    description: str = "",
) -> ModelVersion:
    """Register ``model_uri`` as the next version of ``name`` (created if missing)."""
    check_name(name, "registered model name")
    if isinstance(model_uri, os.PathLike):
        model_uri = os.fspath(model_uri)
    if not isinstance(model_uri, str) or not model_uri.strip():
        raise InvalidRequestError(
            f"Invalid model URI {model_uri!r}: use runs:/<run_id>/<name>, models:/<name>/<version> "
            "or a package folder",
            param="model_uri",
        )
    run_id: str | None = None
    location: str
    if model_uri.startswith("runs:"):
        run_id = parse_runs_uri(model_uri)[0]
        location = locate(registry, model_uri)
    elif model_uri.startswith("models:"):
        version = version_for(registry, model_uri)
        run_id = version.run_id
        location = version.storage_location
    elif objects.is_remote(model_uri):
        location = objects.check_uri(model_uri, param="model_uri")
    else:
        location = str(resolve_model_uri(model_uri).absolute())
    try:
        manifest = read_manifest(location)
    except PackageError as exc:
        raise PackageError(f"Cannot register {model_uri!r}: {exc.message}") from None
    return registry.create_model_version(
        name,
        source=model_uri,
        storage_location=location,
        run_id=run_id,
        model_id=manifest.model_uuid,
        description=description,
        tags=tags,
    )
