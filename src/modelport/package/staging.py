"""The temporary folder a save builds its package in, and what a killed save leaves behind.

A save of ``<parent>/NAME`` works in a hidden folder beside it::

    .NAME.tmp-1a2b3c4d/
    ├── save.lock     locked (fcntl.flock) by the saving process until the folder is gone;
    │                 holds "<pid> <host>" for people
    ├── package/      the package being written, renamed to NAME when it is complete
    └── old/          when overwriting: the previous package, moved aside, deleted with the folder

The kernel releases a process's locks when the process dies, however it dies (SIGKILL, the
out-of-memory killer, a crash). So a temporary folder whose lock can be taken belongs to a save
that will never finish: it is *stale*. The next save or load of NAME removes NAME's stale
folders (first putting ``old/`` back when NAME is missing: a save killed between its two
renames), and ``modelport clean`` removes those below a folder. A folder whose lock is held is a
save still running, and nothing here touches it. The lock decides; the pid is only shown.

A folder without ``save.lock`` comes from a modelport that did not lock, or from a save killed
in the instant between creating its folder and locking; it counts as stale once nothing in it
has changed for ``UNLOCKED_STALE_AFTER_S`` (an hour).

Races: the lock file is created and locked under another name, then renamed to ``save.lock``,
so ``save.lock`` is locked from the moment it exists. A cleaner takes the lock without waiting,
checks that what it locked is still ``save.lock`` (another cleaner may have removed the folder
meanwhile), then removes the content, the lock file last, and the folder: a cleaner killed
midway leaves a folder with a free lock, which the next cleaner finishes.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from modelport.package.manifest import MANIFEST_FILE

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, so no folder is ever judged stale
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_FILE = "save.lock"
PACKAGE_DIR = "package"
OLD_DIR = "old"
UNLOCKED_STALE_AFTER_S = 3600.0

_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.tmp-[0-9a-f]{8}")
_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0)

State = Literal["stale", "in use", "recent", "unknown"]


class Staging:
    """The temporary folder of one save in this process, locked while it exists."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self.package = path / PACKAGE_DIR
        self.old = path / OLD_DIR
        self._lock_fd: int | None = lock_fd

    @classmethod
    def create(cls, target: Path) -> Staging:
        """A new locked temporary folder beside ``target`` (whose parent must exist)."""
        path = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
        path.mkdir()
        try:
            fd = _create_lock(path)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        staging = cls(path, fd)
        try:
            staging.package.mkdir()
        except BaseException:
            staging.remove()
            raise
        return staging

    def remove(self) -> None:
        """Delete the folder (what is left of it), then release the lock."""
        try:
            _remove_locked_folder(self.path)
        except OSError as exc:  # its lock is free now: the next save or `modelport clean` retries
            log.warning("could not remove the temporary folder %s: %s", self.path, exc)
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


@dataclass(frozen=True)
class TempFolder:
    """A save's temporary folder found on disk."""

    path: Path
    target: Path
    state: State
    size_bytes: int
    owner: str | None = None  # "<pid> <host>" written by the save, when there is one

    @property
    def owner_text(self) -> str:
        if not self.owner:
            return "a save running in a process its lock file does not name"
        pid, _, host = self.owner.partition(" ")
        return f"a save running in process {pid}" + (f" on {host}" if host else "")


def target_of(path: Path) -> Path | None:
    """The package a temporary folder was building, or None if ``path`` is not one."""
    match = _TEMP_NAME.fullmatch(path.name)
    return path.parent / match["target"] if match else None


def temp_folders_beside(target: Path) -> list[Path]:
    """The temporary folders of saves of ``target``, whatever their state."""
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    prefix = f".{target.name}.tmp-"
    return sorted(
        Path(entry.path)
        for entry in entries
        if entry.name.startswith(prefix)
        and target_of(Path(entry.path)) == target
        and entry.is_dir(follow_symlinks=False)
    )


def temp_folders_below(root: Path) -> list[Path]:
    """Temporary folders of saves anywhere below ``root``.

    Symbolic links are not followed, and neither packages (folders with a manifest) nor the
    temporary folders themselves are searched.
    """
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if target_of(path) is not None:
                found.append(path)
            elif not (path / MANIFEST_FILE).exists():
                pending.append(path)
    return sorted(found)


def inspect_folder(path: Path) -> TempFolder:
    """What a temporary folder is now, without changing it."""
    target = target_of(path)
    if target is None:
        raise ValueError(f"{path} is not the temporary folder of a save")
    size, newest = _size_and_newest_change(path)
    owner = _read_owner(path / LOCK_FILE)
    return TempFolder(path, target, _state(path, newest), size, owner)


def remove_if_stale(path: Path) -> bool:
    """Remove a temporary folder if its save is dead; True when this call removed it.

    A save killed after moving the previous package aside gets that package put back first,
    when nothing has taken its place.
    """
    target = target_of(path)
    if target is None:
        raise ValueError(f"{path} is not the temporary folder of a save")
    lock = path / LOCK_FILE
    try:
        fd = _open_lock(lock)
    except FileNotFoundError:
        if not path.is_dir() or _state(path, _size_and_newest_change(path)[1]) != "stale":
            return False
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            raise OSError(f"cannot remove everything in {path}") from None
        return True
    try:
        if not _try_lock(fd) or not _is_file_at(fd, lock):
            return False
        if not _put_back_old_package(path / OLD_DIR, target):
            raise OSError(f"cannot put back {target} from {path / OLD_DIR}; both are kept")
        _remove_locked_folder(path)
        return True
    finally:
        os.close(fd)


def remove_stale_folders(root: Path) -> Iterator[TempFolder]:
    """Remove the stale temporary folders below ``root``; yield each one this call removed."""
    for path in temp_folders_below(root):
        folder = inspect_folder(path)
        if folder.state == "stale" and remove_if_stale(path):
            yield folder


def remove_stale_saves_of(target: Path) -> None:
    """Remove what killed saves of ``target`` left beside it.

    Never fails: a save or a load goes on whatever happens here (a read-only folder, say).
    """
    for path in temp_folders_beside(target):
        try:
            size, _ = _size_and_newest_change(path)
            if remove_if_stale(path):
                log.info(
                    "removed %s (%d bytes), left by a save of %s that was killed",
                    path,
                    size,
                    target,
                )
        except OSError as exc:
            log.warning("cannot remove %s, left by a killed save: %s", path, exc)


# --- internals ------------------------------------------------------------------------------


def _create_lock(folder: Path) -> int:
    pending = folder / f"{LOCK_FILE}.new"
    fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody opens the pending name
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        os.rename(pending, folder / LOCK_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_lock(lock: Path) -> int:
    try:
        return os.open(lock, os.O_RDWR | _OPEN_FLAGS)
    except PermissionError:  # another user's file: a read-only descriptor can still be locked
        return os.open(lock, os.O_RDONLY | _OPEN_FLAGS)


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without flock: we cannot tell, so it is not ours to remove
        return False
    return True


def _is_file_at(fd: int, path: Path) -> bool:
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (opened.st_dev, opened.st_ino)


def _state(path: Path, newest_change: float) -> State:
    lock = path / LOCK_FILE
    try:
        fd = _open_lock(lock)
    except FileNotFoundError:
        if time.time() - newest_change > UNLOCKED_STALE_AFTER_S:
            return "stale"
        return "recent"
    except OSError:
        return "unknown"
    try:
        if fcntl is None:
            return "unknown"
        return "stale" if _try_lock(fd) else "in use"
    finally:
        os.close(fd)  # releases the lock if it was taken


def _read_owner(lock: Path) -> str | None:
    try:
        return lock.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


def _size_and_newest_change(path: Path) -> tuple[int, float]:
    """Total size of the files in ``path`` and the latest modification time in it."""
    try:
        newest = path.lstat().st_mtime
    except FileNotFoundError:
        return 0, 0.0
    size = 0
    for folder, dirs, files in os.walk(path):
        for name, is_file in [*((d, False) for d in dirs), *((f, True) for f in files)]:
            try:
                stat = os.lstat(os.path.join(folder, name))
            except FileNotFoundError:  # removed meanwhile
                continue
            newest = max(newest, stat.st_mtime)
            size += stat.st_size if is_file else 0
    return size, newest


def _put_back_old_package(old: Path, target: Path) -> bool:
    """Move a killed overwrite's old package back to a missing target; False if that failed."""
    if not old.is_dir() or target.exists():
        return True
    try:
        old.rename(target)
    except OSError as exc:
        if target.exists():  # another save got there first: the old package can go
            return True
        log.warning("could not put back %s, moved aside by a killed save: %s", target, exc)
        return False
    log.warning("put back %s: a save that was replacing it had been killed", target)
    return True


def _remove_locked_folder(path: Path) -> None:
    """Remove everything in ``path``, then its lock file, then ``path``; missing parts are fine."""
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name == LOCK_FILE:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
    left = [name for name in os.listdir(path) if name != LOCK_FILE]
    if left:
        raise OSError(f"cannot remove {', '.join(sorted(left))} in {path}")
    (path / LOCK_FILE).unlink(missing_ok=True)
    path.rmdir()
