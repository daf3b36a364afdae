"""register_model: from runs:/, models:/ and folders; what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelport
from modelport.errors import InvalidRequestError, NotFoundError, PackageError
from modelport.tracking import TrackingClient


@pytest.fixture
def tracking(tmp_path: Path) -> TrackingClient:
    return TrackingClient(tmp_path / "store")


def test_a_logged_model_registers_from_its_run_uri(
    tracking: TrackingClient, chat_model_file: Path
) -> None:
    run = tracking.create_run(tracking.create_experiment("exp"))
    info = tracking.log_model(run.run_id, "chat", python_model=chat_model_file)
    version = tracking.register_model(info.model_uri, "bot", description="v1")
    assert (version.version, version.source, version.run_id) == (1, info.model_uri, run.run_id)
    assert version.model_id == info.model_uuid
    assert version.storage_location == info.path
    assert version.model_uri == "models:/bot/1"


def test_a_version_registers_again_under_another_name(
    tracking: TrackingClient, chat_model_file: Path, tmp_path: Path
) -> None:
    modelport.save_model(tmp_path / "pkg", python_model=chat_model_file)
    tracking.register_model(tmp_path / "pkg", "bot")
    tracking.set_alias("bot", "production", 1)
    copy = tracking.register_model("models:/bot@production", "bot-eu")
    assert (copy.name, copy.version, copy.storage_location) == (
        "bot-eu",
        1,
        str(tmp_path / "pkg"),
    )


def test_a_folder_that_is_not_a_package_is_refused(
    tracking: TrackingClient, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PackageError, match="not a modelport package"):
        tracking.register_model(tmp_path / "empty", "bot")
    with pytest.raises(NotFoundError, match="does not exist"):
        tracking.register_model(tmp_path / "missing", "bot")
    assert tracking.search_registered_models() == []


def test_unknown_runs_and_models_in_the_source_raise_not_found(tracking: TrackingClient) -> None:
    with pytest.raises(NotFoundError, match=f"Run '{'0' * 32}' not found"):
        tracking.register_model(f"runs:/{'0' * 32}/chat", "bot")
    with pytest.raises(NotFoundError, match="Registered model 'ghost' not found"):
        tracking.register_model("models:/ghost/1", "bot")
    run = tracking.create_run(tracking.create_experiment("exp"))
    with pytest.raises(NotFoundError, match="No artifact 'chat'"):
        tracking.register_model(f"runs:/{run.run_id}/chat", "bot")


@pytest.mark.parametrize("name", ["", "a/b", "bot@prod", "x" * 300])
def test_bad_registered_model_names_are_rejected(
    tracking: TrackingClient, chat_model_file: Path, tmp_path: Path, name: str
) -> None:
    modelport.save_model(tmp_path / "pkg", python_model=chat_model_file)
    with pytest.raises(InvalidRequestError, match="Invalid registered model name"):
        tracking.register_model(tmp_path / "pkg", name)


def test_an_empty_model_uri_is_rejected(tracking: TrackingClient) -> None:
    with pytest.raises(InvalidRequestError, match="Invalid model URI"):
        tracking.register_model("  ", "bot")


def test_descriptions_and_tags_of_versions_can_change(
    tracking: TrackingClient, chat_model_file: Path, tmp_path: Path
) -> None:
    modelport.save_model(tmp_path / "pkg", python_model=chat_model_file)
    tracking.register_model(tmp_path / "pkg", "bot")
    tracking.update_model_version("bot", 1, "checked by QA")
    tracking.set_model_version_tag("bot", 1, "qa", "passed")
    version = tracking.get_model_version("bot", "1")
    assert (version.description, version.tags) == ("checked by QA", {"qa": "passed"})
    with pytest.raises(InvalidRequestError, match="at most 5000"):
        tracking.update_model_version("bot", 1, "x" * 5001)
