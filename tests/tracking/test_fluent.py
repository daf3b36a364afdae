"""The fluent API on the default embedded store, from an empty working directory."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import modelport
import modelport.tracking as mt
from modelport.errors import AlreadyExistsError, InvalidRequestError, NotFoundError, PackageError
from modelport.tracking.state import tracking_state
from modelport.types import ChatCompletionResponse


class Failing(modelport.ChatModel):
    def predict(self, context, messages, params):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom at save time")


def test_the_default_store_is_created_in_the_working_directory_on_first_use(
    tmp_path: Path,
) -> None:
    assert not (tmp_path / "modelport.db").exists()
    with mt.start_run() as run:
        mt.log_param("a", 1)
        (tmp_path / "notes.txt").write_text("hi")
        mt.log_artifact(tmp_path / "notes.txt")
    assert (tmp_path / "modelport.db").is_file()
    artifacts = tmp_path / "modelport-artifacts"
    assert (Path(run.info.artifact_uri) / "notes.txt").read_text() == "hi"
    assert Path(run.info.artifact_uri).is_relative_to(artifacts)
    assert mt.get_tracking_uri() == str(tmp_path)
    assert mt.get_experiment_by_name("Default") is not None


def test_the_fluent_api_is_exported_from_modelport() -> None:
    for name in ("set_tracking_uri", "start_run", "log_model", "register_model", "TrackingClient"):
        assert name in modelport.__all__
        assert getattr(modelport, name) is getattr(mt, name)
    assert set(modelport.__all__) <= set(dir(modelport))


def test_a_run_finishes_on_exit_and_fails_on_an_exception(tmp_path: Path) -> None:
    mt.set_experiment("exp")
    with mt.start_run(run_name="good") as good:
        assert mt.active_run() is good
    with pytest.raises(ValueError, match="oops"), mt.start_run(run_name="bad") as bad:
        raise ValueError("oops")
    assert mt.active_run() is None
    assert mt.get_run(good.info.run_id).info.status == "FINISHED"
    assert mt.get_run(bad.info.run_id).info.status == "FAILED"


def test_params_metrics_tags_and_artifacts_reach_the_active_run(tmp_path: Path) -> None:
    experiment = mt.set_experiment("exp")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.json").write_text("{}")
    with mt.start_run(run_name="r", tags={"team": "nlp"}) as run:
        mt.log_params({"lr": 0.01, "layers": 2})
        mt.log_metric("loss", 1.0, step=0)
        mt.log_metrics({"loss": 0.5, "acc": 0.8}, step=1)
        mt.set_tags({"stage": "dev"})
        mt.set_tag("team", "vision")
        mt.log_artifacts(tmp_path / "out", "outputs")
    stored = mt.get_run(run.info.run_id)
    assert stored.info.experiment_id == experiment.experiment_id
    assert stored.data.params == {"lr": "0.01", "layers": "2"}
    assert stored.data.metrics == {"loss": 0.5, "acc": 0.8}
    assert stored.data.tags == {"team": "vision", "stage": "dev"}
    assert (Path(stored.info.artifact_uri) / "outputs" / "a.json").is_file()


def test_nested_runs_need_nested_true(tmp_path: Path) -> None:
    with mt.start_run() as parent:
        with pytest.raises(InvalidRequestError, match=r"already active.*nested=True"):
            mt.start_run()
        with mt.start_run(nested=True) as child:
            assert mt.active_run() is child
        assert mt.active_run() is parent
    assert mt.get_run(child.info.run_id).info.parent_run_id == parent.info.run_id


def test_end_run_ends_the_active_run_and_a_run_can_be_resumed(tmp_path: Path) -> None:
    run = mt.start_run()
    mt.end_run()
    assert mt.active_run() is None
    assert mt.get_run(run.info.run_id).info.status == "FINISHED"
    with mt.start_run(run_id=run.info.run_id):
        mt.log_metric("later", 1.0)
    assert mt.get_run(run.info.run_id).data.metrics == {"later": 1.0}


def test_logging_without_a_run_starts_one(tmp_path: Path) -> None:
    mt.log_metric("x", 1.0)
    run = mt.active_run()
    assert run is not None and mt.get_run(run.info.run_id).data.metrics == {"x": 1.0}


def test_active_runs_belong_to_their_thread(tmp_path: Path) -> None:
    seen: list[object] = []
    with mt.start_run():
        thread = threading.Thread(target=lambda: seen.append(mt.active_run()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_search_runs_looks_in_the_current_experiment(tmp_path: Path) -> None:
    mt.set_experiment("other")
    with mt.start_run():
        mt.log_metric("acc", 0.99)
    mt.set_experiment("exp")
    for acc in (0.5, 0.9, 0.7):
        with mt.start_run():
            mt.log_metric("acc", acc)
    runs = mt.search_runs(filter_string="metrics.acc > 0.6", order_by=["metrics.acc DESC"])
    assert [r.data.metrics["acc"] for r in runs] == [0.9, 0.7]
    assert len(mt.search_runs(experiment_names=["exp", "other"])) == 4
    with pytest.raises(NotFoundError, match="Experiment 'ghost' not found"):
        mt.search_runs(experiment_names=["ghost"])


def test_the_tracking_uri_comes_from_set_tracking_uri_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_TRACKING_URI", str(tmp_path / "from-env"))
    with mt.start_run():
        pass
    assert (tmp_path / "from-env" / "modelport.db").is_file()
    mt.set_tracking_uri(f"sqlite:///{tmp_path / 'explicit' / 'store.db'}")
    with mt.start_run():
        pass
    assert (tmp_path / "explicit" / "store.db").is_file()
    assert not (tmp_path / "modelport.db").exists()


def test_an_invalid_tracking_uri_is_rejected_at_once(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="names no database file"):
        mt.set_tracking_uri("sqlite://")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InvalidRequestError, match="is a file, not a folder"):
        mt.set_tracking_uri(str(tmp_path / "file.txt"))


def test_log_model_logs_a_chat_model_and_registers_it(chat_model_file: Path) -> None:
    with mt.start_run() as run:
        info = mt.log_model(
            "chat", python_model=chat_model_file, registered_model_name="support-bot"
        )
    assert info.model_uri == f"runs:/{run.info.run_id}/chat"
    assert (info.flavor, info.task, info.registered_model_version) == ("python", "llm/v1/chat", 1)
    assert info.signature is not None and len(info.model_uuid) == 32
    assert mt.get_run(run.info.run_id).models[0].model_id == info.model_uuid
    loaded = modelport.load_model(info.model_uri)
    reply = loaded.predict({"messages": [{"role": "user", "content": "hi"}]})
    assert reply["choices"][0]["message"]["content"] == "echo: hi"
    version = mt.register_model(info.model_uri, "support-bot")
    assert version.version == 2 and version.run_id == run.info.run_id


def test_log_model_accepts_an_instance_and_the_artifact_path_spelling() -> None:
    class Hello(modelport.ChatModel):
        def predict(self, context, messages, params):  # type: ignore[no-untyped-def]
            return ChatCompletionResponse(
                model="hello",
                choices=[{"index": 0, "message": {"role": "assistant", "content": "hello"}}],
            )

    info = mt.log_model(artifact_path="hello", python_model=Hello())
    assert info.name == "hello" and info.registered_model_version is None


def test_a_failed_log_model_leaves_no_package_and_no_version(tmp_path: Path) -> None:
    with mt.start_run() as run, pytest.raises(PackageError, match="boom at save time"):
        mt.log_model("broken", python_model=Failing(), registered_model_name="never")
    artifacts = Path(run.info.artifact_uri)
    assert not artifacts.exists() or list(artifacts.iterdir()) == []
    assert mt.get_run(run.info.run_id).models == ()
    with pytest.raises(NotFoundError, match="'never'"):
        mt.TrackingClient().get_registered_model("never")


def test_log_model_rejects_bad_arguments_before_writing(chat_model_file: Path) -> None:
    with mt.start_run() as run:
        with pytest.raises(InvalidRequestError, match="Invalid model name 'a/b'"):
            mt.log_model("a/b", python_model=chat_model_file)
        with pytest.raises(InvalidRequestError, match=r"exactly one of .*python_model="):
            mt.log_model("m")
        with pytest.raises(InvalidRequestError, match=r"exactly one of .*python_model="):
            mt.log_model("m", python_model=chat_model_file, transformers_model="x")
        with pytest.raises(InvalidRequestError, match="Invalid registered model name"):
            mt.log_model("m", python_model=chat_model_file, registered_model_name="")
        with pytest.raises(InvalidRequestError, match=r"does not take.*accepted: .*input_example"):
            mt.log_model("m", python_model=chat_model_file, colour="red")
        with pytest.raises(InvalidRequestError, match="needs a name"):
            mt.log_model(python_model=chat_model_file)
        mt.log_model("m", python_model=chat_model_file)
        with pytest.raises(AlreadyExistsError, match="'m' already exists"):
            mt.log_model("m", python_model=chat_model_file)
    assert [m.name for m in mt.get_run(run.info.run_id).models] == ["m"]


def test_set_experiment_needs_one_way_to_name_it() -> None:
    with pytest.raises(InvalidRequestError, match="exactly one of"):
        mt.set_experiment()
    with pytest.raises(InvalidRequestError, match="Invalid experiment name"):
        mt.set_experiment("a/b")
    created = mt.set_experiment("exp")
    assert mt.set_experiment(experiment_id=created.experiment_id).name == "exp"
    assert tracking_state.experiment_name == "exp"


def test_search_runs_can_return_a_dataframe(tmp_path: Path) -> None:
    mt.set_experiment("exp")
    for lr, acc in (("0.1", 0.5), ("0.01", 0.9)):
        with mt.start_run():
            mt.log_param("lr", lr)
            mt.log_metric("acc", acc)
    frame = mt.search_runs(order_by=["metrics.acc DESC"], output_format="pandas")
    assert list(frame["metrics.acc"]) == [0.9, 0.5]
    assert list(frame["params.lr"]) == ["0.01", "0.1"]
    assert set(frame["status"]) == {"FINISHED"}
    with pytest.raises(InvalidRequestError, match="'list' or 'pandas'"):
        mt.search_runs(output_format="csv")


def test_importing_modelport_does_not_import_the_database_layer() -> None:
    import subprocess
    import sys

    code = "import sys, modelport; print('sqlalchemy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_a_registration_that_fails_after_saving_leaves_no_model_behind(
    tmp_path: Path, chat_model_file: Path
) -> None:
    from sqlalchemy import create_engine, text

    with mt.start_run() as run:
        mt.log_param("ready", 1)  # creates the store
        engine = create_engine(f"sqlite:///{tmp_path / 'modelport.db'}")
        with engine.begin() as connection:  # the database itself refuses new versions
            connection.execute(
                text(
                    "CREATE TRIGGER registry_down BEFORE INSERT ON model_versions "
                    "BEGIN SELECT RAISE(ABORT, 'registry is down'); END"
                )
            )
        engine.dispose()
        with pytest.raises(AlreadyExistsError, match="registry is down"):
            mt.log_model("chat", python_model=chat_model_file, registered_model_name="bot")
    assert not (Path(run.info.artifact_uri) / "chat").exists()
    assert mt.get_run(run.info.run_id).models == ()
    with pytest.raises(NotFoundError, match="'bot'"):
        mt.TrackingClient().get_registered_model("bot")
