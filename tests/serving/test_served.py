"""Served models by name; loading state."""

from __future__ import annotations

from functools import partial

import pytest

from modelport import load_model
from modelport.errors import InvalidRequestError, NotFoundError, ServiceUnavailableError
from modelport.serving.served import ServedModels


def test_one_model_answers_to_any_name(packages: dict[str, str]) -> None:
    models = ServedModels({"echo": packages["echo"]})
    with pytest.raises(ServiceUnavailableError):
        models.get("echo")
    said: list[str] = []
    models.load_all(said.append)
    assert models.ready
    assert said[0].startswith("loading 'echo' from") and said[1].startswith("loaded 'echo'")
    assert models.get(None).name == models.get("anything").name == "echo"
    with pytest.raises(NotFoundError):
        models.find("anything")  # /v1/models/{id} is exact


def test_several_models_need_the_right_name(packages: dict[str, str]) -> None:
    models = ServedModels({"a": load_model(packages["echo"]), "b": packages["shout"]})
    models.load_all()
    assert models.get("b").task == "llm/v1/completions"
    with pytest.raises(NotFoundError) as caught:
        models.get("c")
    assert caught.value.param == "model" and "a, b" in caught.value.message
    with pytest.raises(NotFoundError, match="name one"):
        models.get(None)
    assert [card["id"] for card in (m.card() for m in models.served())] == ["a", "b"]


def test_a_failed_load_is_kept(tmp_path) -> None:
    models = ServedModels({"x": str(tmp_path / "missing")})
    with pytest.raises(NotFoundError):
        models.load_all()
    assert models.error is not None and not models.ready
    assert models.loaded_models() == []


def test_no_models_is_an_error() -> None:
    with pytest.raises(InvalidRequestError, match="at least one"):
        ServedModels({})


def test_close_all_closes_every_loaded_model(packages: dict[str, str]) -> None:
    # One model handed over loaded, one loaded by load_all; each model's own close() records.
    models = ServedModels({"echo": load_model(packages["echo"]), "shout": packages["shout"]})
    models.load_all()
    closed: list[str] = []
    for name, loaded in models.loaded_models():
        loaded.unwrap_python_model().close = partial(closed.append, name)
    models.close_all()
    assert sorted(closed) == ["echo", "shout"]
    assert not models.ready
    with pytest.raises(ServiceUnavailableError):
        models.get("echo")
