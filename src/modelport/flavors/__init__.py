"""The flavor registry.

A flavor knows how to turn a package directory into a live model::

    class Flavor(Protocol):
        name: str
        def load(self, path: Path, manifest: Manifest) -> tuple[PythonModel, Context]

``load`` returns a model whose ``load_context`` has already run (for an ``llm/v1/chat`` task, a
``ChatModel``). Built-in flavors (``python``, ``transformers``) and third-party ones are found
through the entry-point group ``modelport.flavors``; ``register_flavor`` adds one at run time.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path
from typing import Protocol

from modelport.errors import PackageError
from modelport.model import Context, PythonModel
from modelport.package.manifest import Manifest

ENTRY_POINT_GROUP = "modelport.flavors"
_BUILTIN = {
    "python": "modelport.flavors.python",
    "transformers": "modelport.flavors.transformers",
}
_registry: dict[str, Flavor] = {}


class Flavor(Protocol):
    name: str

    def load(self, path: Path, manifest: Manifest) -> tuple[PythonModel, Context]: ...


def register_flavor(flavor: Flavor) -> None:
    """Add (or replace) a flavor under ``flavor.name``."""
    _registry[flavor.name] = flavor


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``, importing built-ins and entry points on first use."""
    if name in _registry:
        return _registry[name]
    if name in _BUILTIN:
        try:
            module = importlib.import_module(_BUILTIN[name])
        except ImportError as exc:
            raise PackageError(
                f"The '{name}' flavor needs extra packages: pip install 'modelport[{name}]' ({exc})"
            ) from None
        register_flavor(module.flavor)
        return _registry[name]
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            register_flavor(entry.load())
            return _registry[name]
    known = sorted(
        {
            *_BUILTIN,
            *_registry,
            *(e.name for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)),
        }
    )
    raise PackageError(f"Unknown flavor '{name}'; installed flavors: {', '.join(known)}")
