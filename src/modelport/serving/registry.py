"""The models a server serves, by name, and their loading state.

``-m chat=URI1 -m other=URI2`` gives two entries; the request's ``model`` field picks one. With a
single model served, any name (or none) reaches it. No web imports.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.errors import InvalidRequestError, NotFoundError, ServiceUnavailableError
from modelport.package.load import LoadedModel, load_model

if TYPE_CHECKING:
    from modelport.engine import EngineConfig  # imports torch: only when batching is turned off
    from modelport.package.manifest import Manifest

log = logging.getLogger(__name__)

ModelSource = str | Path | LoadedModel
Progress = Callable[[str], None]


def parse_model_spec(spec: str) -> tuple[str, str]:
    """``NAME=URI`` or a bare ``URI`` (named after its last path part) → ``(name, uri)``."""
    name, sep, uri = spec.partition("=")
    if sep and name and "/" not in name and ":" not in name:
        if not uri:
            raise InvalidRequestError(f"-m {spec!r}: the URI after '=' is empty", param="model")
        return name, uri
    uri = spec
    stripped = uri.rstrip("/")
    if stripped.startswith("models:/"):
        name = stripped[len("models:/") :].split("/")[0].split("@")[0]
    else:
        name = Path(stripped.split("://", 1)[-1]).name
    if not name:
        raise InvalidRequestError(f"-m {spec!r}: cannot name this model; use -m NAME=URI")
    return name, uri


@dataclass
class ServedModel:
    """One model being served under ``name``."""

    name: str
    source: str
    loaded: LoadedModel
    created: int
    load_seconds: float = 0.0

    @property
    def task(self) -> str | None:
        return self.loaded.task

    def card(self) -> dict[str, object]:
        """The ``/v1/models`` entry (OpenAI's ``model`` object, plus the task and flavor)."""
        return {
            "id": self.name,
            "object": "model",
            "created": self.created,
            "owned_by": "modelport",
            "task": self.task,
            "flavor": self.loaded.metadata.flavor,
        }


def _created(loaded: LoadedModel) -> int:
    stamp = getattr(loaded.metadata, "created", None)
    try:
        return int(datetime.fromisoformat(str(stamp)).timestamp())
    except (TypeError, ValueError):
        return int(time.time())


def _load(source: str | Path, batching: bool) -> LoadedModel:
    if not batching:
        from modelport.package.manifest import Manifest
        from modelport.package.uri import resolve_model_uri

        path = resolve_model_uri(source)
        manifest = Manifest.read(path)
        if manifest.flavor == "transformers":
            from modelport.flavors.transformers.load import load_chat_model

            config = _unbatched_config(manifest)
            loaded: LoadedModel = load_chat_model(path, engine_config=config)
            return loaded
    return load_model(source)


def _unbatched_config(manifest: Manifest) -> EngineConfig:
    from modelport.flavors.transformers.config import TransformersConfig, engine_config_from_dict

    config = TransformersConfig.from_dict(manifest.flavor_config)
    return dataclasses.replace(engine_config_from_dict(config.engine_config), batching=False)


class ModelRegistry:
    """Name → :class:`ServedModel`; not ready until every model has loaded."""

    def __init__(self, sources: Mapping[str, ModelSource], *, batching: bool = True) -> None:
        if not sources:
            raise InvalidRequestError("no model to serve: give at least one -m [NAME=]URI")
        self._sources = dict(sources)
        self._batching = batching
        self._models: dict[str, ServedModel] = {}
        self.error: BaseException | None = None
        self.ready = False

    @property
    def names(self) -> list[str]:
        return list(self._sources)

    def load_all(self, progress: Progress | None = None) -> None:
        """Load every model (blocking: the server runs it in a worker thread)."""
        say = progress or (lambda message: None)
        try:
            for name, source in self._sources.items():
                started = time.perf_counter()
                if isinstance(source, LoadedModel):
                    loaded, shown = source, repr(source)
                else:
                    shown = str(source)
                    say(f"loading '{name}' from {shown}")
                    loaded = _load(source, self._batching)
                seconds = time.perf_counter() - started
                self._models[name] = ServedModel(name, shown, loaded, _created(loaded), seconds)
                say(
                    f"loaded '{name}' ({loaded.metadata.flavor}, "
                    f"{loaded.task or 'custom PythonModel'}) in {seconds:.1f}s"
                )
        except BaseException as exc:
            self.error = exc
            raise
        self.ready = True

    def require_ready(self) -> None:
        if not self.ready:
            raise ServiceUnavailableError("The models are still loading; retry in a moment")

    def get(self, name: str | None) -> ServedModel:
        """The model a request names; with one model served, any name reaches it."""
        self.require_ready()
        if len(self._models) == 1:
            return next(iter(self._models.values()))
        if name is None:
            raise NotFoundError(
                f"This server serves several models; name one in 'model': {', '.join(self._models)}",
                param="model",
            )
        return self.find(name)

    def find(self, name: str) -> ServedModel:
        """The model called exactly ``name`` (for ``GET /v1/models/{id}``)."""
        self.require_ready()
        served = self._models.get(name)
        if served is None:
            raise NotFoundError(
                f"The model '{name}' does not exist; served models: {', '.join(self._models)}",
                param="model",
                code="model_not_found",
            )
        return served

    def served(self) -> list[ServedModel]:
        self.require_ready()
        return list(self._models.values())

    def close_all(self) -> None:
        """Release every loaded model (engine threads, caches) at shutdown; never raises."""
        self.ready = False
        for served in list(self._models.values()):
            try:
                served.loaded.close()
            except Exception as exc:
                log.warning("closing model '%s' failed: %r", served.name, exc)

    def loaded_models(self) -> list[tuple[str, LoadedModel]]:
        """``(name, model)`` of the models loaded so far (never raises: for the metrics)."""
        return [(m.name, m.loaded) for m in list(self._models.values())]
