"""The local artifact store: one folder per run, and nothing written or read outside it.

An artifact path is relative to the run's artifact folder. Absolute paths, ``..`` segments,
backslashes and paths that resolve outside the folder through a symbolic link are refused.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from modelport.errors import AlreadyExistsError, InvalidRequestError, NotFoundError


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


class LocalArtifactRepository:
    """The artifacts of one run, in the local folder ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

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
        source = Path(local_path)
        if not source.is_file():
            raise InvalidRequestError(
                f"log_artifact needs an existing file; '{local_path}' is not one (use "
                "log_artifacts for a folder)",
                param="local_path",
            )
        folder = check_artifact_path(artifact_path)
        relative = f"{folder}/{source.name}" if folder else source.name
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
        source = Path(local_dir)
        if not source.is_dir():
            raise InvalidRequestError(
                f"log_artifacts needs an existing folder; '{local_dir}' is not one",
                param="local_dir",
            )
        relative = check_artifact_path(artifact_path)
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
