"""The registry part of the SQL store, on SQLite and PostgreSQL: versions, tags, aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelport
from modelport.errors import AlreadyExistsError, NotFoundError
from modelport.tracking import TrackingClient


def _package(tmp_path: Path, chat_model_file: Path, name: str = "pkg") -> Path:
    modelport.save_model(tmp_path / name, python_model=chat_model_file)
    return tmp_path / name


def test_model_versions_are_numbered_from_one(
    client: TrackingClient, tmp_path: Path, chat_model_file: Path
) -> None:
    package = _package(tmp_path, chat_model_file)
    first = client.register_model(package, "bot", description="first try")
    second = client.register_model(str(package), "bot", tags={"stage": "test"})
    assert (first.version, second.version) == (1, 2)
    assert second.tags == {"stage": "test"} and first.description == "first try"
    assert client.get_latest_version("bot").version == 2
    assert [v.version for v in client.search_model_versions("bot")] == [1, 2]
    model = client.get_registered_model("bot")
    assert model.latest_version == 2


def test_registered_models_carry_descriptions_and_tags(client: TrackingClient) -> None:
    client.create_registered_model("bot", tags={"owner": "me"}, description="a bot")
    client.update_registered_model("bot", "the support bot")
    client.set_registered_model_tag("bot", "owner", "team")
    model = client.get_registered_model("bot")
    assert (model.description, model.tags, model.latest_version) == (
        "the support bot",
        {"owner": "team"},
        None,
    )
    with pytest.raises(AlreadyExistsError, match="'bot'"):
        client.create_registered_model("bot")
    assert [m.name for m in client.search_registered_models()] == ["bot"]
    client.delete_registered_model("bot")
    assert client.search_registered_models() == []


def test_aliases_point_at_versions_and_move(
    client: TrackingClient, tmp_path: Path, chat_model_file: Path
) -> None:
    package = _package(tmp_path, chat_model_file)
    for _ in range(2):
        client.register_model(package, "bot")
    client.set_alias("bot", "production", 1)
    assert client.get_version_by_alias("bot", "production").version == 1
    client.set_alias("bot", "production", "2")
    version = client.get_version_by_alias("bot", "production")
    assert (version.version, version.aliases) == (2, ("production",))
    assert client.get_registered_model("bot").aliases == {"production": 2}
    client.delete_alias("bot", "production")
    with pytest.raises(NotFoundError, match="'bot' has no alias 'production'"):
        client.get_version_by_alias("bot", "production")


def test_unknown_model_version_and_alias_raise_not_found_naming_them(
    client: TrackingClient, tmp_path: Path, chat_model_file: Path
) -> None:
    with pytest.raises(NotFoundError, match="Registered model 'ghost' not found"):
        client.get_registered_model("ghost")
    with pytest.raises(NotFoundError, match="'ghost'"):
        client.search_model_versions("ghost")
    client.register_model(_package(tmp_path, chat_model_file), "bot")
    with pytest.raises(NotFoundError, match="'bot' has no version 7"):
        client.get_model_version("bot", 7)
    with pytest.raises(NotFoundError, match="'bot' has no version 7"):
        client.set_alias("bot", "production", 7)
    client.set_alias("bot", "staging", 1)
    with pytest.raises(NotFoundError, match=r"no alias 'production' \(its aliases: staging\)"):
        client.get_version_by_alias("bot", "production")
    with pytest.raises(NotFoundError, match="no alias 'production'"):
        client.delete_alias("bot", "production")


def test_threads_registering_at_once_get_dense_unique_versions(
    client: TrackingClient, tmp_path: Path, chat_model_file: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    package = _package(tmp_path, chat_model_file)
    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(
            pool.map(lambda _: client.register_model(package, "bot").version, range(24))
        )
    assert sorted(versions) == list(range(1, 25))
    assert [v.version for v in client.search_model_versions("bot")] == list(range(1, 25))
