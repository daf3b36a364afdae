"""Model URIs: a local path, ``file://``, and schemes that other parts register.

Tracking registers ``runs:/`` and ``models:/`` when it is imported; ``resolve_model_uri`` imports
it on first use of those schemes, so the core does not depend on it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from modelport.errors import NotFoundError, PackageError

UriResolver = Callable[[str], Path]
_resolvers: dict[str, UriResolver] = {}
_LAZY_SCHEMES = {"runs": "modelport.tracking", "models": "modelport.tracking"}


def register_uri_scheme(scheme: str, resolver: UriResolver) -> None:
    """Make ``scheme:/...`` URIs resolve to a local directory through ``resolver(uri)``."""
    _resolvers[scheme] = resolver


def _scheme(uri: str) -> str | None:
    if ":" not in uri:
        return None
    head = uri.split(":", 1)[0]
    if len(head) == 1:  # a Windows drive letter
        return None
    return head.lower() if head.isidentifier() else None


def resolve_model_uri(uri: str | Path) -> Path:
    """The local directory a model URI points to (it must exist)."""
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
            if scheme not in _resolvers and scheme in _LAZY_SCHEMES:
                try:
                    importlib.import_module(_LAZY_SCHEMES[scheme])
                except ImportError as exc:
                    raise PackageError(
                        f"'{scheme}:/' URIs need the tracking extra: pip install "
                        f"'modelport[tracking]' ({exc})"
                    ) from None
            if scheme not in _resolvers:
                known = ", ".join(["a local path", "file://", *(f"{s}:/" for s in _resolvers)])
                raise PackageError(
                    f"Unsupported model URI scheme '{scheme}:' in {uri!r}; accepted: {known}"
                )
            path = _resolvers[scheme](uri)
    path = path.expanduser()
    if not path.exists():
        raise NotFoundError(f"No model at '{uri}': the path '{path}' does not exist", param="model")
    return path
