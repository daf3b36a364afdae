"""TrackingClient: explicit stores, no global state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelport.tracking as mt
from modelport.errors import InvalidRequestError
from modelport.tracking import TrackingClient


def test_two_clients_on_two_stores_do_not_see_each_other(tmp_path: Path) -> None:
    first = TrackingClient(tmp_path / "one")
    second = TrackingClient(f"sqlite:///{tmp_path / 'two' / 'db.sqlite'}")
    first.create_experiment("only-in-one")
    assert [e.name for e in first.search_experiments()] == ["only-in-one"]
    assert second.search_experiments() == []
    assert mt.active_run() is None  # the client never touches the fluent state
    assert second.location.artifact_root == str(tmp_path / "two" / "modelport-artifacts")


def test_a_client_logs_a_model_into_a_given_run(tmp_path: Path, chat_model_file: Path) -> None:
    client = TrackingClient(tmp_path / "store")
    run = client.create_run(client.create_experiment("exp"))
    info = client.log_model(run.run_id, "chat", python_model=chat_model_file)
    assert Path(info.path) == Path(run.info.artifact_uri) / "chat"
    assert [f.path for f in client.list_artifacts(run.run_id)] == ["chat"]
    copy = client.download_artifacts(run.run_id, "chat", tmp_path / "copy")
    assert (copy / "modelport.yaml").is_file()
    assert client.download_artifacts(run.run_id, "chat") == Path(info.path)


def test_an_artifact_root_can_be_given_explicitly(tmp_path: Path) -> None:
    client = TrackingClient(tmp_path / "store", artifact_root=tmp_path / "shared")
    run = client.create_run(client.create_experiment("exp"))
    assert Path(run.info.artifact_uri).is_relative_to(tmp_path / "shared")


def test_status_updates_are_checked(tmp_path: Path) -> None:
    client = TrackingClient(tmp_path / "store")
    run = client.create_run(client.create_experiment("exp"))
    with pytest.raises(InvalidRequestError, match="accepted: RUNNING, FINISHED, FAILED, KILLED"):
        client.set_terminated(run.run_id, "DONE")
    client.set_terminated(run.run_id, "KILLED")
    assert client.get_run(run.run_id).info.status == "KILLED"


def test_tags_can_be_deleted(tmp_path: Path) -> None:
    client = TrackingClient(tmp_path / "store")
    run = client.create_run(client.create_experiment("exp"), tags={"a": "1"})
    client.delete_tag(run.run_id, "a")
    assert client.get_run(run.run_id).data.tags == {}
    with pytest.raises(Exception, match="has no tag 'a'"):
        client.delete_tag(run.run_id, "a")


def test_a_forked_child_opens_its_own_connections(tmp_path: Path) -> None:
    import multiprocessing

    client = TrackingClient(tmp_path / "store")
    run = client.create_run(client.create_experiment("exp"))
    context = multiprocessing.get_context("fork")
    child = context.Process(target=client.log_metric, args=(run.run_id, "from-child", 1.0))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    client.log_metric(run.run_id, "from-parent", 2.0)
    assert client.get_run(run.run_id).data.metrics == {"from-child": 1.0, "from-parent": 2.0}


def test_the_client_repr_hides_passwords() -> None:
    client = TrackingClient.__new__(TrackingClient)
    from modelport.tracking.config import StoreLocation

    client.location = StoreLocation(
        "postgresql://u:secret@h/db", "postgresql://u:secret@h/db", Path("/a")
    )
    assert "secret" not in repr(client)


def test_a_client_without_a_uri_follows_set_tracking_uri(tmp_path: Path) -> None:
    mt.set_tracking_uri(tmp_path / "chosen")
    TrackingClient().create_experiment("here")
    assert (tmp_path / "chosen" / "modelport.db").is_file()
    assert not (tmp_path / "modelport.db").exists()


def test_log_model_removes_what_a_killed_log_model_of_the_same_name_left(
    tmp_path: Path, chat_model_file: Path, save_in_another_process: Callable[[str], Any]
) -> None:
    client = TrackingClient(tmp_path / "store")
    run = client.create_run(client.create_experiment("exp"))
    run_folder = Path(run.info.artifact_uri)
    save_in_another_process(
        "from modelport.tracking import TrackingClient\n"
        f"TrackingClient({str(tmp_path / 'store')!r}).log_model({run.run_id!r}, 'chat', "
        "python_model=MODEL)"
    ).kill()
    assert [p.name.startswith(".chat.tmp-") for p in run_folder.iterdir()] == [True]
    assert client.list_artifacts(run.run_id) == []  # hidden, but there

    client.log_model(run.run_id, "chat", python_model=chat_model_file)

    assert sorted(p.name for p in run_folder.iterdir()) == ["chat"]
