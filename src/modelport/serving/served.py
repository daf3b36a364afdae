"""The models a server serves, by name, and their loading state.

``-m chat=URI1 -m other=URI2`` gives two entries; the request's ``model`` field picks one. With a
single model served, any name (or none) reaches it. No web imports, and no flavor's: models
load through ``load_model(uri, **options)``, whatever their flavor.

Load options given to the server (``--no-batching`` is ``batching=False``) go to every model
whose flavor takes them; an option that no served model takes is refused before anything loads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from modelport.errors import InvalidRequestError, NotFoundError, ServiceUnavailableError
from modelport.flavors import get_flavor
from modelport.package.load import LoadedModel, load_model
from modelport.package.manifest import Manifest
from modelport.package.uri import resolve_model_uri

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
        """The ``/v1/models`` entry (OpenAI's ``model`` object, plus the task and flavor, and how
        its engine runs it when the model says)."""
        card: dict[str, object] = {
            "id": self.name,
            "object": "model",
            "created": self.created,
            "owned_by": "modelport",
            "task": self.task,
            "flavor": self.loaded.metadata.flavor,
        }
        engine = self.loaded.engine_info()
        if engine is not None:
            card["engine"] = engine
        return card


def _created(loaded: LoadedModel) -> int:
    stamp = getattr(loaded.metadata, "created", None)
    try:
        return int(datetime.fromisoformat(str(stamp)).timestamp())
    except (TypeError, ValueError):
        return int(time.time())


def options_per_model(
    sources: Mapping[str, ModelSource], options: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """The load options each model loaded from a URI gets: those its flavor takes.

    Reads only the manifests, so that an option no model takes fails before any loading.
    """
    if not options:
        return {name: {} for name in sources}
    per_model: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    flavors: dict[str, str] = {}
    for name, source in sources.items():
        if isinstance(source, LoadedModel):
            continue
        manifest = Manifest.read(resolve_model_uri(source))
        flavors[name] = manifest.flavor
        accepted = get_flavor(manifest.flavor).options.model_fields
        per_model[name] = {k: v for k, v in options.items() if k in accepted}
        taken.update(per_model[name])
    for option in options:
        if option not in taken:
            shown = ", ".join(f"'{n}' is a {f} package" for n, f in flavors.items()) or (
                "every model was given already loaded"
            )
            raise InvalidRequestError(
                f"No served model takes the load option '{option}' ({shown})", param=option
            )
    return per_model


class ServedModels:
    """Name → :class:`ServedModel`; not ready until every model has loaded.

    ``load_options`` (e.g. ``{"batching": False}``) apply to the models, loaded from a URI, whose
    flavor takes them.
    """

    def __init__(
        self, sources: Mapping[str, ModelSource], *, load_options: Mapping[str, Any] | None = None
    ) -> None:
        if not sources:
            raise InvalidRequestError("no model to serve: give at least one -m [NAME=]URI")
        self._sources = dict(sources)
        self._load_options = dict(load_options or {})
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
            options = options_per_model(self._sources, self._load_options)
            for name, source in self._sources.items():
                started = time.perf_counter()
                if isinstance(source, LoadedModel):
                    loaded, shown = source, repr(source)
                else:
                    shown = str(source)
                    say(f"loading '{name}' from {shown}")
                    for option in sorted(set(self._load_options) - set(options[name])):
                        say(f"'{name}' takes no '{option}' load option: it loads without it")
                    loaded = load_model(source, **options[name])
                seconds = time.perf_counter() - started
                self._models[name] = ServedModel(name, shown, loaded, _created(loaded), seconds)
                given = ", ".join(f"{k}={v!r}" for k, v in options.get(name, {}).items())
                say(
                    f"loaded '{name}' ({loaded.metadata.flavor}, "
                    f"{loaded.task or 'custom PythonModel'}{'; ' + given if given else ''}) "
                    f"in {seconds:.1f}s"
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
