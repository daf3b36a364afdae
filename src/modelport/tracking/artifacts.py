"""Artifact stores: one folder per run, in a local folder or in object storage (``s3://``),
and nothing written or read outside it.

An artifact path is relative to the run's artifact folder. Absolute paths, ``..`` segments,
backslashes and paths that resolve outside the folder through a symbolic link are refused.
:func:`artifact_repository` picks the store from the run's artifact URI; both kinds answer the
same calls (:class:`ArtifactRepository`).

A model is written into object storage from a local temporary folder, its manifest last, and
what was sent is deleted if any upload fails: a reader (and the registry, which reads the
manifest) never sees a half-written package as one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from modelport.errors import AlreadyExistsError, InvalidRequestError, NotFoundError, PackageError
from modelport.package.manifest import MANIFEST_FILE, Manifest
from modelport.storage import cache, objects


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None


def check_artifact_path(artifact_path: str | None) -> str:
    """A normalised relative POSIX path ('' for the root), or an error stating the rule."""
    if artifact_path is None or artifact_path in ("", "."):
        return ""
    rule = (
        "an artifact path is relative to the run's artifact folder: no leading '/', no drive, "
        "no '..' segments and no backslashes"
    )
    if not isinstance(artifact_path, str):
        raise InvalidRequestError(
            f"Invalid artifact path {artifact_path!r}: {rule}", param="artifact_path"
        )
    if (
        artifact_path.startswith(("/", "~"))
        or "\\" in artifact_path
        or (len(artifact_path) > 1 and artifact_path[1] == ":")
        or "\x00" in artifact_path
        or any(part == ".." for part in artifact_path.split("/"))
    ):
        raise InvalidRequestError(
            f"Invalid artifact path {artifact_path!r}: {rule}", param="artifact_path"
        )
    parts = [p for p in PurePosixPath(artifact_path).parts if p not in ("", ".")]
    return "/".join(parts)


def _file_to_log(local_path: str | os.PathLike[str], artifact_path: str | None) -> tuple[Path, str]:
    """The file ``log_artifact`` copies (it must exist) and its artifact path."""
    source = Path(local_path)
    if not source.is_file():
        raise InvalidRequestError(
            f"log_artifact needs an existing file; '{local_path}' is not one (use "
            "log_artifacts for a folder)",
            param="local_path",
        )
    folder = check_artifact_path(artifact_path)
    return source, f"{folder}/{source.name}" if folder else source.name


def _folder_to_log(
    local_dir: str | os.PathLike[str], artifact_path: str | None
) -> tuple[Path, str]:
    """The folder ``log_artifacts`` copies (it must exist) and its artifact path."""
    source = Path(local_dir)
    if not source.is_dir():
        raise InvalidRequestError(
            f"log_artifacts needs an existing folder; '{local_dir}' is not one",
            param="local_dir",
        )
    return source, check_artifact_path(artifact_path)


class ArtifactRepository(Protocol):
    """The artifacts of one run (or one package folder), wherever they are kept."""

    def uri_of(self, artifact_path: str | None) -> str:
        """Where the artifact is kept: a local path or an ``s3://`` URI."""
        ...

    def path_of(self, artifact_path: str | None) -> Path:
        """The local path of an existing artifact (from object storage: a cached copy)."""
        ...

    def is_dir(self, artifact_path: str | None) -> bool:
        """Whether the existing artifact is a folder (``NotFoundError`` if there is none)."""
        ...

    def read_bytes(self, artifact_path: str, limit: int | None = None) -> bytes: ...

    def new_folder(self, artifact_path: str) -> AbstractContextManager[Path]:
        """A local folder path (not created) to write a new artifact folder into; its content is
        the artifact once the block ends without error. An existing artifact is refused."""
        ...

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str: ...

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str: ...

    def list_artifacts(self, artifact_path: str | None = None) -> list[FileInfo]: ...

    def download(self, artifact_path: str | None, destination: Path) -> Path:
        """A copy of the artifact in the folder ``destination``; return the copy's path."""
        ...

    def delete(self, artifact_path: str) -> None: ...


def artifact_repository(root: str | os.PathLike[str]) -> ArtifactRepository:
    """The store of the artifact folder ``root``: object storage for ``s3://``, else local."""
    if objects.is_remote(root):
        return ObjectArtifactRepository(str(root))
    return LocalArtifactRepository(root)


def read_manifest(location: str) -> Manifest:
    """The manifest of the package at ``location`` (a folder or an ``s3://`` URI), read without
    fetching the rest of the package."""
    if not objects.is_remote(location):
        return Manifest.read(Path(location))
    uri = objects.join(location, MANIFEST_FILE)
    try:
        text = objects.read_bytes(uri).decode("utf-8")
    except NotFoundError:
        raise PackageError(
            f"'{location}' is not a modelport package: it has no {MANIFEST_FILE}"
        ) from None
    except UnicodeDecodeError:
        raise PackageError(f"{uri} is not UTF-8 text") from None
    return Manifest.from_yaml(text, where=uri)


class LocalArtifactRepository:
    """The artifacts of one run, in the local folder ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def uri_of(self, artifact_path: str | None) -> str:
        return str(self._inside(artifact_path))

    def is_dir(self, artifact_path: str | None) -> bool:
        return self.path_of(artifact_path).is_dir()

    def read_bytes(self, artifact_path: str, limit: int | None = None) -> bytes:
        target = self.path_of(artifact_path)
        if target.is_dir():
            raise InvalidRequestError(f"Artifact '{artifact_path}' is a folder, not a file")
        with target.open("rb") as file:
            return file.read(limit if limit is not None else -1)

    @contextmanager
    def new_folder(self, artifact_path: str) -> Iterator[Path]:
        yield self.new_path(artifact_path)

    def download(self, artifact_path: str | None, destination: Path) -> Path:
        source = self.path_of(artifact_path)
        target = destination / source.name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return target

    def _inside(self, artifact_path: str | None) -> Path:
        relative = check_artifact_path(artifact_path)
        target = self.root / relative if relative else self.root
        root = self.root.resolve()
        resolved = target.resolve()
        if resolved != root and root not in resolved.parents:
            raise InvalidRequestError(
                f"Artifact path {artifact_path!r} leads outside the run's artifact folder "
                "(through a symbolic link); it is refused",
                param="artifact_path",
            )
        return target

    def path_of(self, artifact_path: str | None) -> Path:
        """The local path of an existing artifact."""
        target = self._inside(artifact_path)
        if not target.exists():
            raise NotFoundError(
                f"No artifact '{artifact_path}' in {self.root}", param="artifact_path"
            )
        return target

    def new_path(self, artifact_path: str) -> Path:
        """A path that does not exist yet, inside the run folder (its parent is created)."""
        target = self._inside(artifact_path)
        if target.exists():
            raise AlreadyExistsError(f"Artifact '{artifact_path}' already exists in this run")
        target.parent.mkdir(parents=True, exist_ok=True)
        self._inside(artifact_path)  # the created parents must not be links out either
        return target

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        """Copy one file into ``<artifact_path>/``; return its artifact path."""
        source, relative = _file_to_log(local_path, artifact_path)
        target = self._inside(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._inside(relative)
        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return relative

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        """Copy a folder's content into ``<artifact_path>/`` (links are copied as files)."""
        source, relative = _folder_to_log(local_dir, artifact_path)
        target = self._inside(relative)
        # Every destination must stay inside, also where the run folder already holds a link.
        for item in source.rglob("*"):
            inner = item.relative_to(source).as_posix()
            self._inside(f"{relative}/{inner}" if relative else inner)
        target.mkdir(parents=True, exist_ok=True)
        self._inside(relative)
        shutil.copytree(source, target, symlinks=False, dirs_exist_ok=True)
        return relative

    def list_artifacts(self, artifact_path: str | None = None) -> list[FileInfo]:
        relative = check_artifact_path(artifact_path)
        if not self.root.exists() and not relative:
            return []
        folder = self.path_of(relative)
        if not folder.is_dir():
            return [FileInfo(relative, False, folder.stat().st_size)]
        infos = []
        for child in sorted(folder.iterdir()):
            if child.name.startswith(".") and ".tmp-" in child.name:
                continue
            child_path = f"{relative}/{child.name}" if relative else child.name
            infos.append(
                FileInfo(
                    child_path, child.is_dir(), None if child.is_dir() else child.stat().st_size
                )
            )
        return infos

    def delete(self, artifact_path: str) -> None:
        target = self._inside(artifact_path)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists() or target.is_symlink():
            target.unlink()


class ObjectArtifactRepository:
    """The artifacts of one run below the object storage URI ``root`` (``s3://bucket/…``)."""

    def __init__(self, root: str) -> None:
        self.root = objects.check_uri(root, param="artifact_uri")

    def uri_of(self, artifact_path: str | None) -> str:
        return objects.join(self.root, check_artifact_path(artifact_path))

    def _existing(self, artifact_path: str | None) -> list[objects.ObjectInfo]:
        found = objects.listing(self.uri_of(artifact_path))
        if not found:
            raise NotFoundError(
                f"No artifact '{artifact_path}' in {self.root}", param="artifact_path"
            )
        return found

    def path_of(self, artifact_path: str | None) -> Path:
        try:
            return cache.local_copy(self.uri_of(artifact_path))  # lists the objects once
        except NotFoundError:
            raise NotFoundError(
                f"No artifact '{artifact_path}' in {self.root}", param="artifact_path"
            ) from None

    def is_dir(self, artifact_path: str | None) -> bool:
        found = self._existing(artifact_path)
        return not (len(found) == 1 and found[0].relative == "")

    def read_bytes(self, artifact_path: str, limit: int | None = None) -> bytes:
        if self.is_dir(artifact_path):
            raise InvalidRequestError(f"Artifact '{artifact_path}' is a folder, not a file")
        return objects.read_bytes(self.uri_of(artifact_path), limit)

    def _refuse_existing(self, artifact_path: str) -> str:
        uri = self.uri_of(artifact_path)
        if objects.listing(uri):
            raise AlreadyExistsError(f"Artifact '{artifact_path}' already exists in this run")
        return uri

    @contextmanager
    def new_folder(self, artifact_path: str) -> Iterator[Path]:
        uri = self._refuse_existing(artifact_path)
        staging = Path(tempfile.mkdtemp(prefix="modelport-upload-"))
        try:
            local = staging / (PurePosixPath(uri).name or "artifact")
            yield local
            if not local.exists():
                return
            try:
                objects.upload(local, uri, last=MANIFEST_FILE)
            except BaseException:
                objects.remove(uri)  # no half-written package stays behind
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        source, relative = _file_to_log(local_path, artifact_path)
        objects.upload(source, self.uri_of(relative))
        return relative

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        source, relative = _folder_to_log(local_dir, artifact_path)
        objects.upload(source, self.uri_of(relative))
        return relative

    def list_artifacts(self, artifact_path: str | None = None) -> list[FileInfo]:
        relative = check_artifact_path(artifact_path)
        found = objects.listing(self.uri_of(relative))
        if not found:
            if not relative:
                return []
            raise NotFoundError(f"No artifact '{relative}' in {self.root}", param="artifact_path")
        if len(found) == 1 and found[0].relative == "":
            return [FileInfo(relative, False, found[0].size)]
        children = objects.entries(self.uri_of(relative))
        return [
            FileInfo(f"{relative}/{name}" if relative else name, folder, size)
            for name, folder, size in children
        ]

    def download(self, artifact_path: str | None, destination: Path) -> Path:
        found = self._existing(artifact_path)
        uri = self.uri_of(artifact_path)
        target = destination / (PurePosixPath(uri).name or "artifact")
        objects.download(uri, target, found)
        return target

    def delete(self, artifact_path: str) -> None:
        objects.remove(self.uri_of(artifact_path))
