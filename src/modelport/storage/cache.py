"""The machine's cache (``$MODELPORT_CACHE_DIR``, default ``~/.cache/modelport``), and local
copies of what object storage holds, fetched once per machine.

A remote package or artifact is copied to ``<cache>/objects/<digest of its URI>/<its name>``.
The copy is reused while the objects below the URI keep their keys, sizes and ETags (checked
with one listing each time it is asked for); a changed object is fetched again. Processes on one
machine share the copy: the first takes the entry's lock and downloads into a temporary folder
renamed into place, the others wait for the lock and find it done. So the replicas of a model on
one node download it once, and a download killed midway leaves no copy that counts as done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from modelport.errors import NotFoundError
from modelport.storage import objects

CACHE_ENV = "MODELPORT_CACHE_DIR"
_DONE = "complete.json"


def cache_dir() -> Path:
    """Where modelport caches downloads and converted models (``$MODELPORT_CACHE_DIR``)."""
    configured = os.environ.get(CACHE_ENV)
    root = Path(configured).expanduser() if configured else Path.home() / ".cache" / "modelport"
    return root.absolute()


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created) for the block: one process at a
    time, released by the kernel if the holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock; every rename stays atomic
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fingerprint(found: list[objects.ObjectInfo]) -> str:
    rows = [[o.relative, o.size, o.etag] for o in found]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def local_copy(uri: str, *, progress: bool = True) -> Path:
    """A local copy of the file or folder at the object storage URI ``uri`` (see the module)."""
    uri = objects.check_uri(uri, param="uri")
    found = objects.listing(uri)
    if not found:
        raise NotFoundError(f"Nothing at {uri} in object storage", param="uri")
    entry = cache_dir() / "objects" / hashlib.sha256(uri.encode()).hexdigest()[:32]
    name = uri.rstrip("/").rsplit("/", 1)[-1] or "content"
    target = entry / name
    fingerprint = _fingerprint(found)
    with exclusive_lock(entry / ".lock"):
        done = entry / _DONE
        if target.exists() and done.is_file() and done.read_text() == fingerprint:
            return target
        done.unlink(missing_ok=True)
        staging = entry / f".download-{uuid.uuid4().hex[:8]}"
        try:
            objects.download(uri, staging / name, found, progress=progress)
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.replace(staging / name, target)
            done.write_text(fingerprint)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_object_uri(uri: str) -> Path:
    """The resolver of ``s3://`` model URIs (``load_model("s3://bucket/path/to/package")``)."""
    return local_copy(uri)
