"""Served models by name; loading state."""

from __future__ import annotations

import pytest

from modelport import load_model
from modelport.errors import InvalidRequestError, NotFoundError, ServiceUnavailableError
from modelport.serving.registry import ModelRegistry


def test_one_model_answers_to_any_name(packages: dict[str, str]) -> None:
    registry = ModelRegistry({"echo": packages["echo"]})
    with pytest.raises(ServiceUnavailableError):
        registry.get("echo")
    said: list[str] = []
    registry.load_all(said.append)
    assert registry.ready
    assert said[0].startswith("loading 'echo' from") and said[1].startswith("loaded 'echo'")
    assert registry.get(None).name == registry.get("anything").name == "echo"
    with pytest.raises(NotFoundError):
        registry.find("anything")  # /v1/models/{id} is exact


def test_several_models_need_the_right_name(packages: dict[str, str]) -> None:
    registry = ModelRegistry({"a": load_model(packages["echo"]), "b": packages["shout"]})
    registry.load_all()
    assert registry.get("b").task == "llm/v1/completions"
    with pytest.raises(NotFoundError) as caught:
        registry.get("c")
    assert caught.value.param == "model" and "a, b" in caught.value.message
    with pytest.raises(NotFoundError, match="name one"):
        registry.get(None)
    assert [card["id"] for card in (m.card() for m in registry.served())] == ["a", "b"]


def test_a_failed_load_is_kept(tmp_path) -> None:
    registry = ModelRegistry({"x": str(tmp_path / "missing")})
    with pytest.raises(NotFoundError):
        registry.load_all()
    assert registry.error is not None and not registry.ready
    assert registry.loaded_models() == []


def test_no_models_is_an_error() -> None:
    with pytest.raises(InvalidRequestError, match="at least one"):
        ModelRegistry({})


def test_close_all_closes_every_loaded_model(packages: dict[str, str]) -> None:
    closed: list[str] = []
    echo = load_model(packages["echo"])
    echo.close = lambda: closed.append("echo")  # type: ignore[method-assign]
    registry = ModelRegistry({"echo": echo, "shout": packages["shout"]})
    registry.load_all()
    registry.close_all()
    assert closed == ["echo"]
    assert not registry.ready
    with pytest.raises(ServiceUnavailableError):
        registry.get("echo")
