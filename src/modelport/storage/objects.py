"""``s3://bucket/prefix`` URIs, read and written through fsspec's s3fs.

Any S3-compatible service works (AWS, MinIO, Ceph, a local test server). Credentials, region
and endpoint are found the standard AWS way: ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``
(or ``AWS_PROFILE`` and ``~/.aws/``), ``AWS_DEFAULT_REGION``, and ``AWS_ENDPOINT_URL`` (or
``AWS_ENDPOINT_URL_S3``) for a service other than AWS. Every failure of the service becomes a
:class:`~modelport.errors.StorageError` naming the URI (a missing object: ``NotFoundError``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import InvalidRequestError, NotFoundError, PackageError, StorageError
from modelport.progress import Progress

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

SCHEME = "s3://"
FORMS = "s3://bucket or s3://bucket/prefix"
ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# Transfers smaller than this show no bar (a bar per small artifact would be noise).
BAR_BYTES = 8 * 1024 * 1024
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def is_remote(uri: object) -> bool:
    """Whether ``uri`` names object storage (``s3://…``) rather than a local path."""
    return isinstance(uri, str) and uri[: len(SCHEME)].lower() == SCHEME


def check_uri(uri: str, param: str | None = None) -> str:
    """``uri`` normalised (``s3://bucket/a/b``: no empty segments, no trailing '/'), or an error
    saying what is accepted."""
    if not is_remote(uri):
        raise InvalidRequestError(f"{uri!r} is not an object storage URI ({FORMS})", param=param)
    bucket, _, key = uri[len(SCHEME) :].partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise InvalidRequestError(
            f"Invalid bucket name {bucket!r} in {uri!r}: 3 to 63 lowercase letters, digits, "
            "dots and hyphens, starting and ending with a letter or digit",
            param=param,
        )
    parts = [part for part in key.split("/") if part]
    if any(part in (".", "..") for part in parts) or "\\" in key or "\x00" in key:
        raise InvalidRequestError(
            f"Invalid object storage URI {uri!r}: no '.' or '..' segments, backslashes or NUL "
            f"characters ({FORMS})",
            param=param,
        )
    return SCHEME + "/".join([bucket, *parts])


def join(root: str, *parts: str) -> str:
    """``root`` and the relative ``parts``, as a URI when ``root`` is one, else as a path."""
    if is_remote(root):
        return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts if p.strip("/"))])
    return str(Path(root, *parts))


def _key(uri: str) -> str:
    return uri[len(SCHEME) :].rstrip("/")


def filesystem() -> AbstractFileSystem:
    """The s3fs file system for the endpoint in the environment (fsspec keeps one per endpoint)."""
    try:
        import s3fs
    except ImportError:
        raise PackageError(
            "s3:// URIs need s3fs, which is not installed: pip install 'modelport[s3]'"
        ) from None
    endpoint = next((os.environ[name] for name in ENDPOINT_ENVS if os.environ.get(name)), None)
    found: AbstractFileSystem = s3fs.S3FileSystem(endpoint_url=endpoint)
    return found


def _service_errors() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - s3fs always brings botocore
        return (OSError,)
    return (OSError, BotoCoreError, ClientError)


@contextmanager
def translated(uri: str, action: str) -> Iterator[None]:
    """The service's exceptions inside the block as modelport errors naming ``uri``."""
    try:
        yield
    except FileNotFoundError:
        raise NotFoundError(f"Nothing at {uri} in object storage", param="uri") from None
    except PermissionError as exc:
        raise StorageError(
            f"Object storage denied {action} {uri} ({exc}); check the credentials "
            "(AWS_ACCESS_KEY_ID / AWS_PROFILE) and the bucket's policy"
        ) from exc
    except _service_errors() as exc:
        endpoint = next((os.environ[n] for n in ENDPOINT_ENVS if os.environ.get(n)), None)
        where = f" at {endpoint}" if endpoint else ""
        raise StorageError(
            f"Object storage{where} failed {action} {uri}: {type(exc).__name__}: {exc}"
        ) from exc


@dataclass(frozen=True)
class ObjectInfo:
    """One object below a URI: its path relative to that URI ('' for the URI itself)."""

    relative: str
    size: int
    etag: str


def listing(uri: str) -> list[ObjectInfo]:
    """Every object at or below ``uri``, read fresh from the service (empty: nothing there)."""
    fs = filesystem()
    key = _key(uri)
    with translated(uri, "listing"):
        fs.invalidate_cache(key)
        found: dict[str, dict[str, Any]] = fs.find(key, detail=True)
    infos = []
    for name, info in sorted(found.items()):
        name = name.rstrip("/")
        if name != key and not name.startswith(key + "/"):
            continue  # a sibling sharing the prefix ('a/model2' for 'a/model')
        relative = name[len(key) + 1 :] if name != key else ""
        etag = str(info.get("ETag") or info.get("etag") or "")
        infos.append(ObjectInfo(relative, int(info.get("size") or 0), etag))
    return infos


def entries(uri: str) -> list[tuple[str, bool, int | None]]:
    """The direct children of the folder ``uri``: ``(name, is_folder, size)``."""
    fs = filesystem()
    key = _key(uri)
    with translated(uri, "listing"):
        fs.invalidate_cache(key)
        found: list[dict[str, Any]] = fs.ls(key, detail=True)
    children = []
    for info in found:
        name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
        folder = info.get("type") == "directory"
        children.append((name, folder, None if folder else int(info.get("size") or 0)))
    return sorted(children)


def read_bytes(uri: str, limit: int | None = None) -> bytes:
    """The content of the object ``uri`` (its first ``limit`` bytes)."""
    fs = filesystem()
    with translated(uri, "reading"):
        data: bytes = fs.cat_file(_key(uri), start=0 if limit else None, end=limit)
    return data


def remove(uri: str) -> None:
    """Delete the object or every object below ``uri`` (nothing there: nothing done)."""
    fs = filesystem()
    with translated(uri, "deleting"):
        with suppress(FileNotFoundError):
            fs.rm(_key(uri), recursive=True)
        fs.invalidate_cache(_key(uri))


def _callback(advance: Callable[[int], None]) -> Any:
    from fsspec.callbacks import Callback

    class Advance(Callback):
        def relative_update(self, inc: int = 1) -> None:
            advance(inc)

        def set_size(self, size: int) -> None:  # the bar's total is the whole transfer's
            pass

    return Advance()


def _bar(progress: bool, total: int) -> Progress:
    return Progress(enabled=progress and total >= BAR_BYTES)


def upload(local: Path, uri: str, *, last: str | None = None, progress: bool = True) -> None:
    """Copy the file or folder ``local`` to ``uri``, streamed (in parts for large files), with
    a bar on stderr for the bytes when ``progress`` and the transfer is large.

    ``last``: a file of the folder sent after all the others (a package's manifest, so that a
    reader never sees a manifest whose files are still on their way).
    """
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    if last is not None:
        files.sort(key=lambda p: p.relative_to(local).as_posix() == last)
    total = sum(p.stat().st_size for p in files)
    fs = filesystem()
    with (
        _bar(progress, total).bytes(f"Uploading to {uri}", total) as advance,
        translated(uri, "writing"),
    ):
        callback = _callback(advance)
        for path in files:
            target = uri if path == local else join(uri, path.relative_to(local).as_posix())
            fs.put_file(str(path), _key(target), callback=callback)
        fs.invalidate_cache(_key(uri))


def download(uri: str, local: Path, objects: list[ObjectInfo], *, progress: bool = True) -> None:
    """Copy ``objects`` (a :func:`listing` of ``uri``) to ``local``: a file for the object
    ``uri`` itself, else a folder holding the objects below it."""
    fs = filesystem()
    total = sum(o.size for o in objects)
    with (
        _bar(progress, total).bytes(f"Downloading {uri}", total) as advance,
        translated(uri, "reading"),
    ):
        callback = _callback(advance)
        for info in objects:
            target = local / info.relative if info.relative else local
            target.parent.mkdir(parents=True, exist_ok=True)
            source = join(uri, info.relative) if info.relative else uri
            fs.get_file(_key(source), str(target), callback=callback)
