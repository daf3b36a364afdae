"""The flavor contract and the registry of flavors.

A flavor turns a model into a package directory and a package back into a live model::

    class Flavor(Protocol):
        name: str                    # the manifest's "flavor"
        model_argument: str          # the keyword its save takes the model by: "python_model"
        options: type[LoadOptions]   # what load_model(uri, **options) may pass to load
        save(path, **arguments) -> Manifest
        load(path, manifest, options) -> (PythonModel, Context)

A flavor may also define ``describe(path, manifest) -> list[tuple[str, str]]``: extra rows that
``modelport info`` shows (the transformers flavor shows a chat model's tool-call format).

``load`` returns a model whose ``load_context`` has already run (for an ``llm/v1/chat`` task, a
``ChatModel``). The model may also define ``stats() -> dict[str, float]`` (counters the server
exports at ``/metrics``, see ``modelport.serving.metrics.ENGINE_SERIES``) and ``close()``
(release threads and memory). Nothing else in modelport knows a flavor by name: ``load_model``, the server
and tracking reach every flavor through this module.

Flavors, the built-in ``python`` and ``transformers`` ones included, are found through the
entry-point group ``modelport.flavors`` (an entry ``name = "package.module:flavor"``);
``register_flavor`` adds one at run time.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from pydantic import ConfigDict

from modelport.errors import InvalidRequestError, PackageError
from modelport.model import Context, PythonModel
from modelport.package.manifest import Manifest
from modelport.settings import Settings

ENTRY_POINT_GROUP = "modelport.flavors"
_registry: dict[str, Flavor] = {}


class LoadOptions(Settings):
    """A flavor's load options, given as ``load_model(uri, **options)``; none by default.

    A flavor subclasses this with its own fields (``device``, ``dtype``, ``batching``…); an option
    the flavor does not declare is refused, naming it.
    """

    model_config = ConfigDict(frozen=True)


class Flavor(Protocol):
    name: str
    model_argument: str
    options: type[LoadOptions]
    save: Callable[..., Manifest]

    def load(
        self, path: Path, manifest: Manifest, options: LoadOptions
    ) -> tuple[PythonModel, Context]: ...


def describe_package(path: Path, manifest: Manifest) -> list[tuple[str, str]]:
    """The rows the package's flavor adds to ``modelport info`` (none if it has no
    ``describe``, or cannot be imported here)."""
    try:
        flavor = get_flavor(manifest.flavor)
    except PackageError:
        return []
    describe = getattr(flavor, "describe", None)
    return list(describe(path, manifest)) if describe is not None else []


def register_flavor(flavor: Flavor) -> None:
    """Add (or replace) a flavor under ``flavor.name``."""
    _registry[flavor.name] = flavor


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {e.name: e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def flavor_names() -> list[str]:
    """The names of every flavor installed or registered (none is imported)."""
    return sorted({*_registry, *_entry_points()})


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``, importing its entry point on first use."""
    if name in _registry:
        return _registry[name]
    entry = _entry_points().get(name)
    if entry is None:
        raise PackageError(
            f"Unknown flavor '{name}'; installed flavors: {', '.join(flavor_names())}"
        )
    try:
        flavor = entry.load()
    except ImportError as exc:
        raise PackageError(
            f"The '{name}' flavor needs packages that are not installed ({exc}); for modelport's "
            f"own flavors: pip install 'modelport[{name}]'"
        ) from None
    register_flavor(flavor)
    return flavor


def _importable_flavors() -> Iterator[Flavor]:
    for name in flavor_names():
        try:
            yield get_flavor(name)
        except PackageError:
            continue  # its extra is not installed: it cannot save anything here anyway


def flavor_for_save(arguments: Mapping[str, Any]) -> Flavor:
    """The one flavor whose model argument is among ``arguments`` (``python_model=``,
    ``transformers_model=`` …), for ``log_model``.

    A keyword ``<name>_model`` is first tried as flavor ``<name>``; other flavors are imported
    (to read their model argument) only when that finds nothing. Keywords left over go to the
    flavor's save, which refuses those it does not take.
    """
    given = {key for key, value in arguments.items() if value is not None}
    found: dict[str, Flavor] = {}
    for key in sorted(given):
        name = key.removesuffix("_model")
        if name != key and name in flavor_names():
            flavor = get_flavor(name)
            if flavor.model_argument == key:
                found[flavor.name] = flavor
    if not found:
        found = {f.name: f for f in _importable_flavors() if f.model_argument in given}
    if len(found) == 1:
        return next(iter(found.values()))
    forms = ", ".join(f"{f.model_argument}= ({f.name} flavor)" for f in _importable_flavors())
    got = " and ".join(f"{f.model_argument}=" for f in found.values()) or "none"
    raise InvalidRequestError(f"log_model() needs exactly one of {forms}; got {got}")


def parse_load_options(flavor: Flavor, options: Mapping[str, Any]) -> LoadOptions:
    """``options`` checked against what ``flavor`` takes: an unknown option or a bad value is an
    :class:`InvalidRequestError` naming the option."""
    accepted = sorted(flavor.options.model_fields)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes none"
        raise InvalidRequestError(
            f"The '{flavor.name}' flavor has no load option '{unknown[0]}' ({takes})",
            param=unknown[0],
        )
    return flavor.options.parse(dict(options), f"load option of the '{flavor.name}' flavor")


__all__ = [
    "ENTRY_POINT_GROUP",
    "Flavor",
    "LoadOptions",
    "flavor_for_save",
    "flavor_names",
    "get_flavor",
    "parse_load_options",
    "register_flavor",
]
