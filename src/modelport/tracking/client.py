"""``TrackingClient``: every tracking and registry operation on one store, explicitly (of the
process's tracking state it reads only the default tracking URI, and shares the open stores)."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from modelport.errors import InvalidRequestError
from modelport.flavors import flavor_for_save
from modelport.package.manifest import Manifest
from modelport.tracking.artifacts import ArtifactRepository, FileInfo, artifact_repository
from modelport.tracking.config import check_artifact_root, resolve_store
from modelport.tracking.entities import (
    Experiment,
    Metric,
    ModelInfo,
    ModelVersion,
    PagedList,
    RegisteredModel,
    Run,
    RunStatus,
)
from modelport.tracking.registry import register_model
from modelport.tracking.state import tracking_state
from modelport.tracking.store.base import now_ms
from modelport.tracking.uris import resolve
from modelport.tracking.validation import check_name


class TrackingClient:
    """Experiments, runs, artifacts, logged models and the registry of one tracking store.

    ``tracking_uri``: a folder, ``sqlite:///file.db`` or ``postgresql+psycopg://…`` (default: the
    one given to ``set_tracking_uri``, else ``MODELPORT_TRACKING_URI``, else ``./modelport.db``
    and ``./modelport-artifacts/``).
    ``artifact_root``: where new experiments keep their artifacts (see :mod:`.config`).
    """

    def __init__(
        self,
        tracking_uri: str | os.PathLike[str] | None = None,
        artifact_root: str | os.PathLike[str] | None = None,
    ) -> None:
        if tracking_uri is None:
            tracking_uri = tracking_state.tracking_uri  # set_tracking_uri(), as MlflowClient()
        self.location = resolve_store(tracking_uri, artifact_root)
        self.store = tracking_state.store(self.location)

    @property
    def tracking_uri(self) -> str:
        return self.location.tracking_uri

    @property
    def display_uri(self) -> str:
        """The tracking URI with any password masked."""
        return self.location.display_uri

    def __repr__(self) -> str:
        return f"TrackingClient(tracking_uri={self.display_uri!r})"

    # --- experiments --------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        artifact_location: str | os.PathLike[str] | None = None,
    ) -> str:
        """Create an experiment; return its id. An existing name raises ``AlreadyExistsError``.

        ``artifact_location``: a folder or ``s3://bucket/prefix`` for its runs' artifacts
        (default: ``<artifact root>/<experiment id>``)."""
        location = check_artifact_root(artifact_location) if artifact_location else None
        return self.store.create_experiment(name, tags, location)

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        return self.store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def get_or_create_experiment(self, name: str) -> Experiment:
        return self.store.get_or_create_experiment(name)

    def search_experiments(self) -> list[Experiment]:
        return self.store.list_experiments()

    list_experiments = search_experiments

    def count_runs(self) -> dict[str, int]:
        """Experiment id → its number of runs (counted in the database; none → left out)."""
        return self.store.count_runs()

    # --- runs ---------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | int,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
    ) -> Run:
        return self.store.create_run(experiment_id, run_name, tags, parent_run_id, start_time)

    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def set_terminated(
        self, run_id: str, status: str = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        self.store.set_terminated(run_id, status, end_time)

    def update_run(self, run_id: str, status: str) -> None:
        self.store.set_terminated(run_id, status)

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self.store.log_batch(run_id, params={key: value})
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Log one metric value. NaN and ±inf are rejected (``InvalidRequestError``)."""
        metric = Metric(key, value, 0 if step is None else step, timestamp or now_ms())
        self.store.log_batch(run_id, metrics=[metric])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.store.log_batch(run_id, tags={key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        self.store.log_batch(run_id, metrics, params, tags)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self.store.get_metric_history(run_id, key)

    def search_runs(
        self,
        experiment_ids: Sequence[str | int] | str | int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs matching ``filter_string`` (see :mod:`modelport.tracking.search`), ordered: at
        most ``max_results``, a list whose ``token`` is the ``page_token`` of the next page."""
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]
        return self.store.search_runs(
            experiment_ids, filter_string, order_by, max_results, page_token
        )

    # --- artifacts ----------------------------------------------------------------------------

    def artifact_repository(self, run_id: str) -> ArtifactRepository:
        """The run's artifact store: a local folder or object storage."""
        return artifact_repository(self.get_run(run_id).info.artifact_uri)

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        return self.artifact_repository(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        return self.artifact_repository(run_id).log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.artifact_repository(run_id).list_artifacts(path)

    def download_artifacts(
        self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None
    ) -> Path:
        """The artifact's local path (from object storage: its copy in the machine's cache);
        with ``dst_path``, a copy of it in that folder."""
        repository = self.artifact_repository(run_id)
        if dst_path is None:
            return repository.path_of(path)
        return repository.download(path, Path(dst_path))

    # --- models -------------------------------------------------------------------------------

    def log_model(
        self,
        run_id: str,
        name: str,
        *,
        registered_model_name: str | None = None,
        **arguments: Any,
    ) -> ModelInfo:
        """Save a model into the run's artifacts as ``<name>/`` (and register it if asked).

        The model goes in its flavor's keyword: ``python_model=`` (a PythonModel/ChatModel or a
        ``.py`` file), ``transformers_model=`` (a transformers model, pipeline or folder), or
        that of any other installed flavor; the other keywords go to that flavor's
        ``save_model``. All or nothing: if saving, recording or registering fails, no package
        and no version remain.
        """
        check_name(name, "model name")
        if registered_model_name is not None:
            check_name(registered_model_name, "registered model name")
        flavor = flavor_for_save(arguments)
        try:
            inspect.signature(flavor.save).bind("path", **arguments)
        except TypeError as exc:
            accepted = ", ".join(
                p for p in inspect.signature(flavor.save).parameters if p not in ("path", "self")
            )
            raise InvalidRequestError(
                f"log_model() got an argument the {flavor.name} flavor does not take ({exc}); "
                f"accepted: {accepted}, registered_model_name"
            ) from None
        repository = self.artifact_repository(run_id)
        with repository.new_folder(name) as target:
            flavor.save(target, **arguments)  # atomic: nothing is left if it fails
            manifest = Manifest.read(target)
        # Uploaded (in object storage) or in place: from here a failure removes the package.
        try:
            self.store.create_logged_model(
                run_id, name, manifest.model_uuid, manifest.flavor, manifest.task
            )
        except BaseException:
            repository.delete(name)
            raise
        model_uri = f"runs:/{run_id}/{name}"
        version: int | None = None
        if registered_model_name is not None:
            try:
                version = self.register_model(model_uri, registered_model_name).version
            except BaseException:
                self.store.delete_logged_model(manifest.model_uuid)
                repository.delete(name)
                raise
        return ModelInfo(
            model_uri=model_uri,
            run_id=run_id,
            name=name,
            model_uuid=manifest.model_uuid,
            flavor=manifest.flavor,
            task=manifest.task,
            signature=manifest.signature,
            path=repository.uri_of(name),
            registered_model_version=version,
        )

    # --- registry -----------------------------------------------------------------------------

    def register_model(
        self,
        model_uri: str | os.PathLike[str],
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str = "",
    ) -> ModelVersion:
        """Register the package at ``model_uri`` as the next version of ``name``."""
        return register_model(self.store, model_uri, name, tags=tags, description=description)

    def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str = ""
    ) -> RegisteredModel:
        return self.store.create_registered_model(name, description, tags)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.store.get_registered_model(name)

    def search_registered_models(self) -> list[RegisteredModel]:
        return self.store.list_registered_models()

    list_registered_models = search_registered_models

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        return self.store.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        self.store.delete_registered_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.store.set_registered_model_tag(name, key, value)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.store.get_model_version(name, version)

    def get_latest_version(self, name: str) -> ModelVersion:
        return self.store.get_latest_version(name)

    def search_model_versions(self, name: str) -> list[ModelVersion]:
        return self.store.list_model_versions(name)

    list_model_versions = search_model_versions

    def update_model_version(self, name: str, version: int | str, description: str) -> ModelVersion:
        return self.store.update_model_version(name, version, description)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self.store.set_model_version_tag(name, version, key, value)

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self.store.set_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.store.delete_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.store.get_version_by_alias(name, alias)

    set_alias = set_registered_model_alias
    delete_alias = delete_registered_model_alias
    get_version_by_alias = get_model_version_by_alias

    def resolve_model_uri(self, uri: str) -> Path:
        """The local folder of a ``runs:/`` or ``models:/`` URI (a package in object storage is
        fetched into the machine's cache)."""
        return resolve(self.store, uri)
