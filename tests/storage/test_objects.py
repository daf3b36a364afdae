"""Object storage through s3fs, against a real S3 API server on 127.0.0.1 (moto's)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modelport.errors import InvalidRequestError, NotFoundError, StorageError
from modelport.storage import objects


@pytest.mark.parametrize(
    ("uri", "normalised"),
    [
        ("s3://bucket", "s3://bucket"),
        ("s3://bucket/", "s3://bucket"),
        ("S3://bucket//a///b/", "s3://bucket/a/b"),
        ("s3://my.bucket-1/models/chat", "s3://my.bucket-1/models/chat"),
    ],
)
def test_uris_are_normalised(uri: str, normalised: str) -> None:
    assert objects.is_remote(uri)
    assert objects.check_uri(uri) == normalised


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("s3://", "Invalid bucket name ''"),
        ("s3://Bucket/x", "Invalid bucket name 'Bucket'"),
        ("s3://ab/x", "Invalid bucket name 'ab'"),
        ("s3://bucket_1/x", "Invalid bucket name 'bucket_1'"),
        ("s3://bucket/a/../b", "no '.' or '..' segments"),
        ("s3://bucket/a\\b", "backslashes"),
        ("/local/path", "is not an object storage URI"),
    ],
)
def test_bad_uris_say_what_is_accepted(uri: str, words: str) -> None:
    with pytest.raises(InvalidRequestError, match=words):
        objects.check_uri(uri)


def test_join_keeps_uris_and_paths_apart(tmp_path: Path) -> None:
    assert (
        objects.join("s3://b/root/", "1", "/run/", "", "artifacts") == "s3://b/root/1/run/artifacts"
    )
    assert objects.join(str(tmp_path), "1", "artifacts") == str(tmp_path / "1" / "artifacts")


def _folder(root: Path) -> Path:
    (root / "weights").mkdir(parents=True)
    (root / "modelport.yaml").write_text("flavor: python\n")
    (root / "weights" / "model.bin").write_bytes(bytes(range(256)) * 1000)
    (root / "weights" / "empty.txt").write_bytes(b"")
    return root


def test_a_folder_goes_up_and_comes_back_byte_for_byte(s3_root: str, tmp_path: Path) -> None:
    source = _folder(tmp_path / "source")
    uri = objects.join(s3_root, "package")
    objects.upload(source, uri, last="modelport.yaml")

    found = objects.listing(uri)
    assert [(o.relative, o.size) for o in found] == [
        ("modelport.yaml", 15),
        ("weights/empty.txt", 0),
        ("weights/model.bin", 256_000),
    ]
    assert all(o.etag for o in found)
    assert objects.entries(uri) == [("modelport.yaml", False, 15), ("weights", True, None)]
    assert objects.read_bytes(objects.join(uri, "weights/model.bin"), 4) == bytes([0, 1, 2, 3])

    copy = tmp_path / "copy"
    objects.download(uri, copy, found)
    for name in ("modelport.yaml", "weights/model.bin", "weights/empty.txt"):
        assert (copy / name).read_bytes() == (source / name).read_bytes()

    objects.remove(uri)
    assert objects.listing(uri) == []
    objects.remove(uri)  # nothing there: nothing done


def test_a_listing_does_not_take_a_sibling_sharing_the_prefix(s3_root: str, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    objects.upload(tmp_path / "a.txt", objects.join(s3_root, "model", "a.txt"))
    objects.upload(tmp_path / "a.txt", objects.join(s3_root, "model2", "a.txt"))
    assert [o.relative for o in objects.listing(objects.join(s3_root, "model"))] == ["a.txt"]


def test_the_manifest_is_sent_after_every_other_file(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _folder(tmp_path / "source")
    fs = objects.filesystem()
    sent: list[str] = []
    real_put = fs.put_file

    def recording_put(lpath: str, rpath: str, **kwargs: object) -> None:
        sent.append(Path(lpath).relative_to(source).as_posix())
        real_put(lpath, rpath, **kwargs)

    monkeypatch.setattr(fs, "put_file", recording_put)
    objects.upload(source, objects.join(s3_root, "package"), last="modelport.yaml")
    assert sent[-1] == "modelport.yaml" and len(sent) == 3


def test_a_large_upload_shows_its_progress_on_stderr(
    s3_root: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * objects.BAR_BYTES)
    objects.upload(big, objects.join(s3_root, "big.bin"))
    assert f"Uploading to {s3_root}/big.bin" in capfd.readouterr().err
    small = tmp_path / "small.bin"
    small.write_bytes(b"x")
    objects.upload(small, objects.join(s3_root, "small.bin"))
    assert "Uploading" not in capfd.readouterr().err


def test_a_missing_object_is_not_found(s3_root: str) -> None:
    with pytest.raises(NotFoundError, match=f"Nothing at {s3_root}/absent"):
        objects.read_bytes(objects.join(s3_root, "absent"))
    assert objects.listing(objects.join(s3_root, "absent")) == []


def test_a_missing_bucket_is_not_found(s3_root: str) -> None:
    with pytest.raises(NotFoundError, match="s3://no-such-bucket-here/x"):
        objects.read_bytes("s3://no-such-bucket-here/x")


def test_an_unreachable_endpoint_is_a_storage_error_naming_it(
    s3_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import _free_port

    endpoint = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    started = time.monotonic()
    with pytest.raises(StorageError, match=f"Object storage at {endpoint} failed listing"):
        objects.listing(objects.join(s3_root, "x"))
    assert time.monotonic() - started < 60
