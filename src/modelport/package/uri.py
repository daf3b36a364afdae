"""Model URIs: a local path, ``file://``, and schemes that their owners register.

A scheme's resolver (``uri -> local directory``) is registered at run time with
``register_uri_scheme``, or declared in the entry-point group ``modelport.uri_schemes`` and
imported on first use: tracking declares ``runs`` and ``models`` there, so the core names no
part that owns a scheme.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from modelport.errors import NotFoundError, PackageError
from modelport.package.staging import remove_stale_saves_of

UriResolver = Callable[[str], Path]
ENTRY_POINT_GROUP = "modelport.uri_schemes"
_resolvers: dict[str, UriResolver] = {}


def register_uri_scheme(scheme: str, resolver: UriResolver) -> None:
    """Make ``scheme:/...`` URIs resolve to a local directory through ``resolver(uri)``."""
    _resolvers[scheme] = resolver


def _declared() -> dict[str, importlib.metadata.EntryPoint]:
    return {e.name: e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _resolver(scheme: str, uri: str) -> UriResolver:
    if scheme in _resolvers:
        return _resolvers[scheme]
    entry = _declared().get(scheme)
    if entry is None:
        schemes = sorted({*_resolvers, *_declared()})
        known = ", ".join(["a local path", "file://", *(f"{s}:/" for s in schemes)])
        raise PackageError(
            f"Unsupported model URI scheme '{scheme}:' in {uri!r}; accepted: {known}"
        )
    try:
        resolver: UriResolver = entry.load()
    except ImportError as exc:
        raise PackageError(
            f"'{scheme}:/' URIs are resolved by {entry.value}, which needs packages that are not "
            f"installed ({exc}); pip install 'modelport[all]' installs every extra"
        ) from None
    register_uri_scheme(scheme, resolver)
    return resolver


def _scheme(uri: str) -> str | None:
    if ":" not in uri:
        return None
    head = uri.split(":", 1)[0]
    if len(head) == 1:  # a Windows drive letter
        return None
    return head.lower() if head.isidentifier() else None


def is_local_uri(uri: str | Path) -> bool:
    """Whether ``uri`` is a path or a ``file://`` URI (no registered scheme to resolve)."""
    return isinstance(uri, Path) or _scheme(uri) in (None, "file")


def resolve_model_uri(uri: str | Path, *, remove_stale_saves: bool = False) -> Path:
    """The local directory a model URI points to (it must exist).

    With ``remove_stale_saves``, what killed saves of that directory left beside it is removed
    first (see :mod:`modelport.package.staging`), which may put back a package that a killed
    overwrite had moved aside.
    """
    if isinstance(uri, Path):
        path = uri
    else:
        if not isinstance(uri, str) or not uri.strip():
            raise PackageError(f"A model URI must be a non-empty string, got {uri!r}")
        scheme = _scheme(uri)
        if scheme is None:
            path = Path(uri)
        elif scheme == "file":
            parsed = urlparse(uri)
            path = Path(unquote(parsed.path))
        else:
            path = _resolver(scheme, uri)(uri)
    path = path.expanduser()
    if remove_stale_saves:
        remove_stale_saves_of(path.absolute())
    if not path.exists():
        raise NotFoundError(f"No model at '{uri}': the path '{path}' does not exist", param="model")
    return path
