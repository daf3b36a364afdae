"""Where tracking data lives: the one place that reads ``MODELPORT_TRACKING_URI``.

A tracking URI is one of:

- nothing: ``./modelport.db`` (SQLite) and ``./modelport-artifacts/`` in the working directory;
- a folder path (or ``file:`` URI): ``<folder>/modelport.db`` and ``<folder>/modelport-artifacts/``;
- ``sqlite:///path/to/file.db``: that database, artifacts in ``modelport-artifacts/`` beside it;
- any other SQLAlchemy URL, e.g. ``postgresql+psycopg://user:pw@host:5432/db``: that database,
  artifacts under ``MODELPORT_ARTIFACT_ROOT`` (or ``./modelport-artifacts/``); point it at storage
  every machine of the team sees.

``MODELPORT_ARTIFACT_ROOT`` (or ``artifact_root=``) overrides the artifacts' place in every case:
a folder, or object storage as ``s3://bucket/prefix`` (see :mod:`modelport.storage.objects` for
credentials and endpoints).

Each experiment records its artifact folder when it is created, so runs keep writing there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from modelport.errors import InvalidRequestError
from modelport.storage import objects

TRACKING_URI_ENV = "MODELPORT_TRACKING_URI"
ARTIFACT_ROOT_ENV = "MODELPORT_ARTIFACT_ROOT"
EXPERIMENT_NAME_ENV = "MODELPORT_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "Default"
DEFAULT_DB_FILE = "modelport.db"
DEFAULT_ARTIFACT_DIR = "modelport-artifacts"


@dataclass(frozen=True)
class StoreLocation:
    """A resolved tracking URI: the database URL and where new experiments keep their artifacts
    (an absolute folder path or an ``s3://`` URI)."""

    tracking_uri: str
    db_uri: str
    artifact_root: str

    @property
    def display_uri(self) -> str:
        """The tracking URI with any password masked, safe to print."""
        return redact(self.tracking_uri)


def redact(uri: str) -> str:
    """``scheme://user:***@host/db`` for a URI holding a password; anything else unchanged."""
    head, sep, rest = uri.partition("://")
    if not sep or "@" not in rest:
        return uri
    credentials, _, host = rest.rpartition("@")
    user, colon, _ = credentials.partition(":")
    return f"{head}://{user}{':***' if colon else ''}@{host}"


def default_experiment_name() -> str:
    """The experiment runs go to when none was set: ``$MODELPORT_EXPERIMENT_NAME`` or Default."""
    return os.environ.get(EXPERIMENT_NAME_ENV) or DEFAULT_EXPERIMENT


def _sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path.absolute()}"


def check_artifact_root(root: str | os.PathLike[str]) -> str:
    """An artifact root as stored: an absolute folder path or a normalised ``s3://`` URI."""
    if objects.is_remote(root):
        return objects.check_uri(str(root), param="artifact_root")
    text = os.fspath(root)
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError(
            f"Invalid artifact root {root!r}: use a folder path or s3://bucket/prefix",
            param="artifact_root",
        )
    scheme = text.split("://", 1)[0] if "://" in text else ""
    if scheme and scheme.lower() != "file":
        raise InvalidRequestError(
            f"Unsupported artifact root {text!r}: use a folder path, file:///path or "
            "s3://bucket/prefix (any S3-compatible service)",
            param="artifact_root",
        )
    if scheme:
        text = unquote(urlparse(text).path)
    return str(Path(text).expanduser().absolute())


def resolve_store(
    tracking_uri: str | os.PathLike[str] | None = None,
    artifact_root: str | os.PathLike[str] | None = None,
) -> StoreLocation:
    """Resolve ``tracking_uri`` (default: the environment, then the working directory)."""
    if tracking_uri is None:
        tracking_uri = os.environ.get(TRACKING_URI_ENV) or None
    if artifact_root is None:
        artifact_root = os.environ.get(ARTIFACT_ROOT_ENV) or None
    explicit_root = check_artifact_root(artifact_root) if artifact_root else None
    if tracking_uri is None:
        cwd = Path.cwd()
        return StoreLocation(
            str(cwd),
            _sqlite_uri(cwd / DEFAULT_DB_FILE),
            explicit_root or str(cwd / DEFAULT_ARTIFACT_DIR),
        )
    if isinstance(tracking_uri, os.PathLike):
        tracking_uri = os.fspath(tracking_uri)
    if not isinstance(tracking_uri, str) or not tracking_uri.strip():
        raise InvalidRequestError(
            f"Invalid tracking URI {tracking_uri!r}: use a folder path, sqlite:///file.db or "
            "postgresql+psycopg://user:password@host:5432/db"
        )
    uri = tracking_uri.strip()
    scheme = uri.split(":", 1)[0].lower() if "://" in uri or uri.startswith("file:") else ""
    if scheme in ("", "file"):
        folder = Path(unquote(urlparse(uri).path) if scheme == "file" else uri).expanduser()
        folder = folder.absolute()
        if folder.exists() and not folder.is_dir():
            raise InvalidRequestError(
                f"Tracking URI {uri!r} is a file, not a folder: pass a folder (the store creates "
                f"{DEFAULT_DB_FILE} in it) or sqlite:///{uri}"
            )
        return StoreLocation(
            uri,
            _sqlite_uri(folder / DEFAULT_DB_FILE),
            explicit_root or str(folder / DEFAULT_ARTIFACT_DIR),
        )
    if scheme.startswith("sqlite"):
        database = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not database or database == ":memory:":
            raise InvalidRequestError(
                f"Tracking URI {uri!r} names no database file: use sqlite:///path/to/file.db "
                "(an in-memory database would lose everything between connections)"
            )
        path = Path(database).expanduser().absolute()
        return StoreLocation(
            uri, _sqlite_uri(path), explicit_root or str(path.parent / DEFAULT_ARTIFACT_DIR)
        )
    return StoreLocation(uri, uri, explicit_root or str(Path.cwd() / DEFAULT_ARTIFACT_DIR))
