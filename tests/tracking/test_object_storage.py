"""Tracking with the artifacts in object storage (``s3://``), against a real S3 API server on
127.0.0.1 (moto's), on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelport
import modelport.tracking as mt
from modelport.errors import AlreadyExistsError, InvalidRequestError, PackageError, StorageError
from modelport.storage import objects
from modelport.tracking import TrackingClient
from modelport.tracking.config import resolve_store

PING = {"messages": [{"role": "user", "content": "ping"}]}


@pytest.fixture
def remote(store_uri: str, s3_root: str) -> TrackingClient:
    return TrackingClient(store_uri, artifact_root=s3_root)


def test_runs_keep_their_artifacts_in_the_bucket(
    remote: TrackingClient, s3_root: str, tmp_path: Path
) -> None:
    experiment = remote.get_experiment(remote.create_experiment("remote"))
    assert experiment.artifact_location == f"{s3_root}/{experiment.experiment_id}"
    run = remote.create_run(experiment.experiment_id)
    assert (
        run.info.artifact_uri == f"{s3_root}/{experiment.experiment_id}/{run.info.run_id}/artifacts"
    )

    (tmp_path / "report.txt").write_text("accuracy 0.9\n")
    (tmp_path / "plots" / "inner").mkdir(parents=True)
    (tmp_path / "plots" / "loss.csv").write_text("0.9,0.4\n")
    (tmp_path / "plots" / "inner" / "a.json").write_text("{}")
    assert remote.log_artifact(run.info.run_id, tmp_path / "report.txt") == "report.txt"
    assert remote.log_artifacts(run.info.run_id, tmp_path / "plots", "plots") == "plots"

    listed = [(f.path, f.is_dir, f.file_size) for f in remote.list_artifacts(run.info.run_id)]
    assert listed == [("plots", True, None), ("report.txt", False, 13)]
    inner = remote.list_artifacts(run.info.run_id, "plots")
    assert [(f.path, f.is_dir) for f in inner] == [("plots/inner", True), ("plots/loss.csv", False)]
    assert [f.path for f in remote.list_artifacts(run.info.run_id, "report.txt")] == ["report.txt"]

    local = remote.download_artifacts(run.info.run_id, "plots")
    assert (local / "inner" / "a.json").read_text() == "{}"
    copied = remote.download_artifacts(run.info.run_id, "report.txt", tmp_path / "out")
    assert copied == tmp_path / "out" / "report.txt" and copied.read_text() == "accuracy 0.9\n"
    with pytest.raises(modelport.errors.NotFoundError, match="No artifact 'absent'"):
        remote.download_artifacts(run.info.run_id, "absent")
    with pytest.raises(InvalidRequestError, match=r"no '\.\.' segments"):
        remote.log_artifact(run.info.run_id, tmp_path / "report.txt", "../escape")


def test_log_register_alias_and_load_from_the_bucket(
    remote: TrackingClient, store_uri: str, s3_root: str, chat_model_file: Path
) -> None:
    run = remote.create_run(remote.get_or_create_experiment("bots").experiment_id)
    info = remote.log_model(
        run.info.run_id, "chat", python_model=chat_model_file, registered_model_name="bot"
    )
    assert info.path == f"{run.info.artifact_uri}/chat" and info.registered_model_version == 1
    assert any(o.relative == "modelport.yaml" for o in objects.listing(info.path))
    version = remote.get_model_version("bot", 1)
    assert version.storage_location == info.path
    remote.set_alias("bot", "production", 1)

    mt.set_tracking_uri(store_uri)
    for uri in ("models:/bot@production", "models:/bot/1", info.model_uri):
        reply = modelport.load_model(uri).predict(PING)
        assert reply["choices"][0]["message"]["content"] == "echo: ping"

    # A package already in the bucket is registered where it is, reading only its manifest.
    second = remote.register_model(info.path, "bot")
    assert (second.version, second.storage_location) == (2, info.path)
    with pytest.raises(PackageError, match="is not a modelport package"):
        remote.register_model(f"{s3_root}/nothing-here", "bot")

    with pytest.raises(AlreadyExistsError, match="'chat' already exists"):
        remote.log_model(run.info.run_id, "chat", python_model=chat_model_file)


def test_a_failed_upload_leaves_no_package_and_no_version(
    remote: TrackingClient, chat_model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = remote.create_run(remote.get_or_create_experiment("bots").experiment_id)
    fs = objects.filesystem()
    real_put = fs.put_file
    sent: list[str] = []

    def failing_put(lpath: str, rpath: str, **kwargs: object) -> None:
        if sent:
            raise ConnectionResetError("the connection dropped")  # the network, stood in for
        sent.append(rpath)
        real_put(lpath, rpath, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(fs, "put_file", failing_put)
        with pytest.raises(StorageError, match="the connection dropped"):
            remote.log_model(
                run.info.run_id, "chat", python_model=chat_model_file, registered_model_name="bot"
            )
    assert sent  # a file had gone up before the failure
    assert objects.listing(f"{run.info.artifact_uri}/chat") == []
    assert not remote.get_run(run.info.run_id).models
    with pytest.raises(modelport.errors.NotFoundError):
        remote.get_registered_model("bot")
    # The same name works once the network is back.
    remote.log_model(run.info.run_id, "chat", python_model=chat_model_file)


def test_the_artifact_root_comes_from_the_environment(
    s3_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chat_model_file: Path
) -> None:
    monkeypatch.setenv("MODELPORT_ARTIFACT_ROOT", s3_root + "/")
    assert resolve_store(tmp_path / "store").artifact_root == s3_root
    mt.set_tracking_uri(tmp_path / "store")
    with mt.start_run() as run:
        mt.log_model("chat", python_model=chat_model_file, registered_model_name="bot")
    assert run.info.artifact_uri.startswith(s3_root + "/")
    assert modelport.load_model("models:/bot/1").predict(PING)["choices"][0]["message"]


@pytest.mark.parametrize(
    ("root", "words"),
    [
        ("gs://bucket/x", "Unsupported artifact root 'gs://bucket/x'.*s3://bucket/prefix"),
        ("s3://Bad/x", "Invalid bucket name 'Bad'"),
        ("s3://bucket/../x", "no '.' or '..' segments"),
    ],
)
def test_bad_artifact_roots_say_what_is_accepted(
    root: str, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidRequestError, match=words):
        TrackingClient(tmp_path / "store", artifact_root=root)
    monkeypatch.setenv("MODELPORT_ARTIFACT_ROOT", root)
    with pytest.raises(InvalidRequestError, match=words):
        resolve_store(tmp_path / "store")
    client = TrackingClient(tmp_path / "store2", artifact_root=tmp_path / "artifacts")
    with pytest.raises(InvalidRequestError, match=words):
        client.create_experiment("e", artifact_location=root)
