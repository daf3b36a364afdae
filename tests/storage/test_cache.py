"""Local copies of what object storage holds: fetched once per content, shared between
processes of one machine, never half-written. Against a real S3 API server (moto's)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import modelport
from modelport.errors import NotFoundError
from modelport.storage import cache, objects

ECHO = Path(__file__).parents[1] / "serving" / "models" / "echo_chat.py"


class Downloads:
    """Counts the downloads the cache starts (the real ones still run)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> None:
        self.count = 0
        self.files = 0
        self.fail_after = fail_after
        real = objects.download
        fs = objects.filesystem()
        real_get = fs.get_file

        def counting(*args: object, **kwargs: object) -> None:
            self.count += 1
            real(*args, **kwargs)  # type: ignore[arg-type]

        def get_file(rpath: str, lpath: str, **kwargs: object) -> None:
            self.files += 1
            if self.fail_after is not None and self.files > self.fail_after:
                raise ConnectionResetError("the connection dropped")  # the network, stood in for
            real_get(rpath, lpath, **kwargs)

        monkeypatch.setattr(objects, "download", counting)
        monkeypatch.setattr(fs, "get_file", get_file)


def _upload_package(s3_root: str, tmp_path: Path, name: str = "echo") -> str:
    package = tmp_path / "local" / name
    modelport.save_model(package, python_model=ECHO)
    uri = objects.join(s3_root, name)
    objects.upload(package, uri, last="modelport.yaml")
    return uri


def test_a_package_is_fetched_once_and_again_only_when_it_changed(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = _upload_package(s3_root, tmp_path)
    downloads = Downloads(monkeypatch)
    first = cache.local_copy(uri)
    assert first.is_relative_to(tmp_path / "cache" / "objects") and first.name == "echo"
    assert (first / "modelport.yaml").is_file()
    assert cache.local_copy(uri) == first and downloads.count == 1

    extra = tmp_path / "notes.txt"
    extra.write_text("new")
    objects.upload(extra, objects.join(uri, "notes.txt"))
    again = cache.local_copy(uri)
    assert downloads.count == 2 and (again / "notes.txt").read_text() == "new"


def test_threads_and_processes_of_one_machine_share_one_download(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = _upload_package(s3_root, tmp_path)
    downloads = Downloads(monkeypatch)
    found: list[Path] = []
    threads = [
        threading.Thread(target=lambda: found.append(cache.local_copy(uri))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert downloads.count == 1 and len(set(found)) == 1

    # Another process on the machine finds the copy done (its own downloads would say so).
    code = (
        "import sys; from modelport.storage import cache, objects\n"
        "real = objects.download\n"
        "def refuse(*a, **k): raise SystemExit('downloaded again')\n"
        "objects.download = refuse\n"
        f"print(cache.local_copy({uri!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(found[0])


def test_a_download_that_fails_midway_leaves_no_copy_that_counts(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = _upload_package(s3_root, tmp_path)
    with monkeypatch.context() as patch:
        Downloads(patch, fail_after=1)
        with pytest.raises(modelport.errors.StorageError, match="the connection dropped"):
            cache.local_copy(uri)
    entry = next((tmp_path / "cache" / "objects").iterdir())
    assert sorted(p.name for p in entry.iterdir()) == [".lock"]  # no copy, no leftovers
    copy = cache.local_copy(uri)
    assert (
        modelport.load_model(copy)
        .predict({"messages": [{"role": "user", "content": "hi"}]})["choices"][0]["message"][
            "content"
        ]
        .endswith("hi")
    )


def test_load_model_takes_an_s3_uri(s3_root: str, tmp_path: Path) -> None:
    uri = _upload_package(s3_root, tmp_path)
    loaded = modelport.load_model(uri)
    reply = loaded.predict({"messages": [{"role": "user", "content": "ping"}]})
    assert reply["choices"][0]["message"]["content"].endswith("ping")


def test_an_s3_uri_with_nothing_there_is_not_found(s3_root: str) -> None:
    with pytest.raises(NotFoundError, match=f"Nothing at {s3_root}/absent"):
        modelport.load_model(f"{s3_root}/absent")
