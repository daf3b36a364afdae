"""runs:/ and models:/ URIs resolve wherever a model is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelport
import modelport.tracking as mt
from modelport.errors import InvalidRequestError, NotFoundError
from modelport.tracking.uris import parse_models_uri, parse_runs_uri

RUN_ID = "ab" * 16


def test_runs_uris_parse_into_a_run_and_a_path() -> None:
    assert parse_runs_uri(f"runs:/{RUN_ID}/chat") == (RUN_ID, "chat")
    assert parse_runs_uri(f"runs:///{RUN_ID}/a/b/") == (RUN_ID, "a/b")
    assert parse_runs_uri(f"runs:/{RUN_ID}") == (RUN_ID, "")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("runs:/", "use runs:/<run_id>/<artifact path>"),
        ("runs:/not-an-id/chat", "32 lowercase hexadecimal"),
        (f"runs:/{RUN_ID}/../../etc", "no '..' segments"),
    ],
)
def test_bad_runs_uris_are_rejected(uri: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_runs_uri(uri)


def test_models_uris_name_a_version_an_alias_or_the_latest() -> None:
    assert parse_models_uri("models:/bot/3") == ("bot", 3, None)
    assert parse_models_uri("models:/bot@production") == ("bot", None, "production")
    assert parse_models_uri("models:/bot/latest") == ("bot", None, None)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/bot", "models:/<name>/<version>"),
        ("models:/a/b/1", "models:/<name>/<version>"),
        ("models:/bot/zero", "whole number"),
        ("models:/bot/0", "whole number"),
        ("models:/bot@", "Invalid alias"),
        ("models:/bot@a/b", "models:/<name>@<alias>"),
    ],
)
def test_bad_models_uris_are_rejected(uri: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_models_uri(uri)


def test_load_model_resolves_every_form(chat_model_file: Path) -> None:
    with mt.start_run() as run:
        info = mt.log_model("chat", python_model=chat_model_file, registered_model_name="bot")
    mt.register_model(info.model_uri, "bot")
    mt.TrackingClient().set_alias("bot", "production", 1)
    request = {"messages": [{"role": "user", "content": "hi"}]}
    for uri in (
        f"runs:/{run.info.run_id}/chat",
        "models:/bot/1",
        "models:/bot/latest",
        "models:/bot@production",
    ):
        loaded = modelport.load_model(uri)
        assert loaded.predict(request)["choices"][0]["message"]["content"] == "echo: hi"
        assert loaded.metadata.model_uuid == info.model_uuid


def test_unknown_things_in_uris_raise_not_found_naming_them(
    chat_model_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="Registered model 'ghost' not found") as caught:
        modelport.load_model("models:/ghost@production")
    assert f"in the tracking store {tmp_path}" in caught.value.message
    mt.log_model("chat", python_model=chat_model_file, registered_model_name="bot")
    with pytest.raises(NotFoundError, match="'bot' has no version 9"):
        modelport.load_model("models:/bot/9")
    with pytest.raises(NotFoundError, match="'bot' has no alias 'production'"):
        modelport.load_model("models:/bot@production")
    with pytest.raises(NotFoundError, match=f"Run '{RUN_ID}' not found"):
        modelport.load_model(f"runs:/{RUN_ID}/chat")


def test_a_version_whose_folder_vanished_says_so(tmp_path: Path, chat_model_file: Path) -> None:
    import shutil

    modelport.save_model(tmp_path / "pkg", python_model=chat_model_file)
    mt.register_model(tmp_path / "pkg", "bot")
    shutil.rmtree(tmp_path / "pkg")
    with pytest.raises(NotFoundError, match=r"points to .* no longer exists"):
        modelport.load_model("models:/bot/1")
