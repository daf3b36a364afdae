"""The web UI's JSON API under ``/ui/api``: what the pages read and write, over one
:class:`~modelport.tracking.TrackingClient`.

Every read and write goes through the client, as the CLI's do, so the pages get the same
validation and the same error messages (in the OpenAI error envelope). Routes are plain ``def``:
the store is synchronous and FastAPI runs them in its thread pool. The routes are documented in
the app's ``/docs`` like the rest of the server.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import StrictInt, StrictStr
from starlette.responses import FileResponse

from modelport.errors import (
    InvalidRequestError,
    ModelportError,
    NotFoundError,
    PackageError,
    StorageError,
)
from modelport.package.manifest import MANIFEST_FILE, Manifest
from modelport.tracking import TrackingClient
from modelport.tracking.artifacts import (
    ArtifactRepository,
    artifact_repository,
    check_artifact_path,
)
from modelport.tracking.entities import Run

PREVIEW_LIMIT = 256 * 1024
"""The most bytes of a text artifact a preview shows (the rest is left to the download)."""
MAX_PAGE = 1000
_TEXT_SUFFIXES = {".txt", ".log", ".md", ".py", ".csv", ".tsv", ".cfg", ".ini", ".toml", ""}
_JSON_SUFFIXES = {".json", ".jsonl"}
_YAML_SUFFIXES = {".yaml", ".yml"}
_IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


def _client(request: Request) -> TrackingClient:
    client: TrackingClient = request.app.state.ui_tracking
    return client


Client = Annotated[TrackingClient, Depends(_client)]
"""The store the routes read and write: the app's ``state.ui_tracking`` (see ``install_ui``)."""


def tracking_router() -> APIRouter:
    """The tracking and registry routes, over the app's ``state.ui_tracking``."""
    router = APIRouter(tags=["Web UI: tracking"])

    @router.get("/experiments", summary="Experiments with their run counts and last activity")
    def list_experiments(
        client: Client,
        q: Annotated[str | None, Query(description="only names containing this text")] = None,
    ) -> dict[str, Any]:
        activity = client.store.run_activity()
        needle = (q or "").strip().lower()
        rows = []
        for experiment in client.search_experiments():
            if needle and needle not in experiment.name.lower():
                continue
            count, last = activity.get(experiment.experiment_id, (0, None))
            rows.append(
                {
                    **experiment.to_dict(),
                    "run_count": count,
                    "last_activity": max(last or 0, experiment.last_update_time),
                }
            )
        return {"experiments": rows}

    @router.get("/experiments/{experiment_id}", summary="One experiment")
    def get_experiment(experiment_id: str, client: Client) -> dict[str, Any]:
        return client.get_experiment(experiment_id).to_dict()

    @router.get(
        "/experiments/{experiment_id}/runs",
        summary="One page of an experiment's runs, filtered and ordered by the store",
    )
    def search_runs(
        experiment_id: str,
        client: Client,
        filter: Annotated[
            str | None, Query(description="search_runs' filter, e.g. metrics.acc > 0.9")
        ] = None,
        order_by: Annotated[
            list[str] | None, Query(description="e.g. 'metrics.acc DESC' (repeatable)")
        ] = None,
        max_results: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        try:
            page = client.search_runs(experiment_id, filter, order_by, max_results, page_token)
        except InvalidRequestError as exc:  # name this API's own query parameters
            exc.param = {"filter_string": "filter"}.get(exc.param or "", exc.param)
            raise
        params = sorted({key for run in page for key in run.data.params})
        metrics = sorted({key for run in page for key in run.data.metrics})
        return {
            "runs": [_run_summary(run) for run in page],
            "next_page_token": page.token,
            "columns": {"params": params, "metrics": metrics},
        }

    @router.get("/runs/{run_id}", summary="A run: info, params, metrics, tags, logged models")
    def get_run(run_id: str, client: Client) -> dict[str, Any]:
        run = client.get_run(run_id)
        experiment = client.get_experiment(run.info.experiment_id)
        return {**run.to_dict(), "experiment_name": experiment.name}

    @router.get("/runs/{run_id}/metric-history", summary="Every logged value of one metric")
    def metric_history(
        run_id: str, client: Client, key: Annotated[str, Query(min_length=1)]
    ) -> dict[str, Any]:
        history = client.get_metric_history(run_id, key)
        if not history:
            client.get_run(run_id)  # an unknown run is a 404 of its own
            raise NotFoundError(f"Run '{run_id}' has no metric '{key}'", param="key")
        return {"key": key, "history": [m.to_dict() for m in history]}

    @router.get("/runs/{run_id}/artifacts", summary="The artifacts in one folder of a run")
    def list_artifacts(run_id: str, client: Client, path: str = "") -> dict[str, Any]:
        repository = client.artifact_repository(run_id)
        with _named_path():
            is_folder = not path or repository.is_dir(path)
            files = repository.list_artifacts(path or None) if is_folder else []
        if not is_folder:
            raise InvalidRequestError(
                f"Artifact '{path}' is a file, not a folder; download it with "
                f"/ui/api/runs/{run_id}/artifacts/file?path={path}",
                param="path",
            )
        return {
            "path": path,
            "files": [
                {"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size} for f in files
            ],
        }

    @router.get(
        "/runs/{run_id}/artifacts/file",
        summary="Download one artifact file",
        response_class=FileResponse,
    )
    def download_artifact(
        run_id: str, client: Client, path: Annotated[str, Query(min_length=1)]
    ) -> FileResponse:
        target = _artifact_file(client, run_id, path)
        media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return FileResponse(target, media_type=media_type, filename=target.name)

    @router.get(
        "/runs/{run_id}/artifacts/preview",
        summary="A readable preview of a text, JSON, YAML or image artifact",
    )
    def preview_artifact(
        run_id: str, client: Client, path: Annotated[str, Query(min_length=1)]
    ) -> dict[str, Any]:
        return _preview(_artifact_file(client, run_id, path))

    @router.get(
        "/runs/{run_id}/logged-models/{name}",
        summary="A model logged in a run: its package card and the versions registered from it",
    )
    def get_logged_model(run_id: str, name: str, client: Client) -> dict[str, Any]:
        run = client.get_run(run_id)
        logged = next((m for m in run.models if m.name == name), None)
        if logged is None:
            names = ", ".join(m.name for m in run.models) or "none"
            raise NotFoundError(
                f"Run '{run_id}' has no logged model '{name}' (it has: {names})", param="name"
            )
        versions = [
            version.to_dict()
            for model in client.search_registered_models()
            for version in client.search_model_versions(model.name)
            if version.model_id == logged.model_id
        ]
        try:
            card = _package_card(client.artifact_repository(run_id), name)
        except NotFoundError as exc:  # the rest of the page still shows
            card = {"error": exc.message}
        return {**logged.to_dict(), "package": card, "versions": versions}

    @router.get("/registered-models", summary="Registered models with their aliases")
    def list_registered_models(client: Client) -> dict[str, Any]:
        return {"models": [m.to_dict() for m in client.search_registered_models()]}

    @router.get("/registered-models/{name}", summary="A registered model and its versions")
    def get_registered_model(name: str, client: Client) -> dict[str, Any]:
        model = client.get_registered_model(name)
        versions = client.search_model_versions(name)
        return {**model.to_dict(), "versions": [v.to_dict() for v in versions]}

    @router.patch("/registered-models/{name}", summary="Edit a registered model's description")
    def update_registered_model(
        name: str, client: Client, description: Annotated[str, Body(embed=True)]
    ) -> dict[str, Any]:
        return client.update_registered_model(name, description).to_dict()

    @router.get(
        "/registered-models/{name}/versions/{version}",
        summary="A model version and its package card",
    )
    def get_model_version(name: str, version: str, client: Client) -> dict[str, Any]:
        model_version = client.get_model_version(name, version)
        package = _package_card(artifact_repository(model_version.storage_location), "")
        return {**model_version.to_dict(), "package": package}

    @router.patch(
        "/registered-models/{name}/versions/{version}",
        summary="Edit a model version's description",
    )
    def update_model_version(
        name: str, version: str, client: Client, description: Annotated[str, Body(embed=True)]
    ) -> dict[str, Any]:
        return client.update_model_version(name, version, description).to_dict()

    @router.put(
        "/registered-models/{name}/aliases/{alias}",
        summary="Point an alias at a version (moving it if it points elsewhere)",
    )
    def set_alias(
        name: str,
        alias: str,
        client: Client,
        version: Annotated[StrictInt | StrictStr, Body(embed=True)],
    ) -> dict[str, Any]:
        client.set_registered_model_alias(name, alias, version)
        return client.get_registered_model(name).to_dict()

    @router.delete("/registered-models/{name}/aliases/{alias}", summary="Remove an alias")
    def delete_alias(name: str, alias: str, client: Client) -> dict[str, Any]:
        client.delete_registered_model_alias(name, alias)
        return client.get_registered_model(name).to_dict()

    return router


def _run_summary(run: Run) -> dict[str, Any]:
    """A row of the runs table: the info, params and latest metrics (tags only by name)."""
    return {
        **asdict(run.info),
        "params": run.data.params,
        "metrics": run.data.metrics,
        "tags": run.data.tags,
        "models": [m.name for m in run.models],
    }


@contextmanager
def _named_path() -> Iterator[None]:
    """Errors about the artifact path name this API's query parameter, ``path``."""
    try:
        yield
    except ModelportError as exc:
        if exc.param == "artifact_path":
            exc.param = "path"
        raise


def _artifact_file(client: TrackingClient, run_id: str, path: str) -> Path:
    repository = client.artifact_repository(run_id)
    with _named_path():
        if repository.is_dir(path):
            raise InvalidRequestError(
                f"Artifact '{path}' is a folder; list it with /ui/api/runs/{run_id}/artifacts"
                f"?path={path}, or download its files one by one",
                param="path",
            )
        return repository.path_of(path)


def _preview(target: Path) -> dict[str, Any]:
    suffix = target.suffix.lower()
    size = target.stat().st_size
    answer: dict[str, Any] = {"name": target.name, "size": size}
    if suffix in _IMAGE_TYPES:
        return {**answer, "kind": "image", "media_type": mimetypes.guess_type(target.name)[0]}
    kind = (
        "json"
        if suffix in _JSON_SUFFIXES
        else "yaml"
        if suffix in _YAML_SUFFIXES
        else "text"
        if suffix in _TEXT_SUFFIXES
        else None
    )
    with target.open("rb") as file:
        head = file.read(PREVIEW_LIMIT)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the limit
            return {**answer, "kind": "binary"}
        text = head[: exc.start].decode("utf-8")
    if kind is None:
        kind = "binary" if "\x00" in text else "text"
    truncated = size > PREVIEW_LIMIT
    if kind == "json" and suffix == ".json" and not truncated:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            kind = "text"  # shown as written: the preview says what it is, not whether it parses
    if kind == "binary":
        return {**answer, "kind": "binary"}
    return {**answer, "kind": kind, "text": text, "truncated": truncated}


def _package_card(repository: ArtifactRepository, package: str) -> dict[str, Any]:
    """What a package page shows: flavor, task, signature, requirements, input example, size
    (an unreadable package is said, not raised: the rest of the page still shows). ``package``
    is the package's path in ``repository``; only its small files are read, never its weights."""
    where = repository.uri_of(package)
    try:
        text = repository.read_bytes(_inner(package, MANIFEST_FILE)).decode("utf-8")
        manifest = Manifest.from_yaml(text, where=f"{where}/{MANIFEST_FILE}")
    except NotFoundError:
        return {"error": f"'{where}' is not a modelport package: it has no {MANIFEST_FILE}"}
    except (PackageError, InvalidRequestError, StorageError) as exc:
        return {"error": exc.message}
    except (OSError, UnicodeDecodeError) as exc:
        return {"error": f"Cannot read the package's manifest in {where}: {exc}"}
    signature = manifest.signature
    return {
        "flavor": manifest.flavor,
        "task": manifest.task,
        "created": manifest.created,
        "modelport_version": manifest.modelport_version,
        "python_version": manifest.python_version,
        "streamable": manifest.streamable,
        "size_bytes": manifest.size_bytes,
        "signature": repr(signature) if signature else None,
        "requirements": _read_text(repository, package, manifest.requirements),
        "input_example": _read_text(repository, package, manifest.input_example)
        if manifest.input_example
        else None,
        "metadata": manifest.metadata,
    }


def _inner(package: str, name: str) -> str:
    return f"{package}/{name}" if package else name


def _read_text(
    repository: ArtifactRepository, package: str, name: str, limit: int = PREVIEW_LIMIT
) -> str | None:
    """A text file of the package, named by its manifest (never one outside the package)."""
    try:
        inner = check_artifact_path(name)
        if not inner:
            return None
        data = repository.read_bytes(_inner(package, inner), limit)
    except (ModelportError, OSError):
        return None
    return data.decode("utf-8", errors="replace")
