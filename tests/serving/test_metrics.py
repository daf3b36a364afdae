"""Metrics: a registry per app, and the engine's counters read at scrape time."""

from __future__ import annotations

from typing import Any

from modelport import ChatModel, Context
from modelport.package.load import LoadedModel
from modelport.package.manifest import Manifest
from modelport.serving.metrics import Metrics, engine_stats
from modelport.types import Usage


class _Engine:
    def __init__(self) -> None:
        self.tokens = 0

    def stats(self) -> dict[str, Any]:
        return {"tokens_generated": self.tokens, "running": 2, "waiting": 1, "steps": 7}


class _Generator:
    def __init__(self) -> None:
        self.engine = _Engine()


class EngineChat(ChatModel):
    """A chat model laid out as the transformers flavor's: model.generator.engine."""

    def __init__(self) -> None:
        self.generator = _Generator()

    def predict(self, context: Any, messages: Any, params: Any = None) -> Any:
        raise NotImplementedError


def _loaded(model: ChatModel) -> LoadedModel:
    return LoadedModel(model, Context(), Manifest(flavor="python", task="llm/v1/chat"))


def test_engine_stats_are_found_and_exported() -> None:
    model = EngineChat()
    loaded = _loaded(model)
    assert engine_stats(loaded) == {"tokens_generated": 0, "running": 2, "waiting": 1, "steps": 7}
    metrics = Metrics(in_flight=lambda: 3, queue_depth=lambda: 4, models=lambda: [("m", loaded)])
    model.generator.engine.tokens = 42
    text = metrics.render().decode()
    assert 'modelport_engine_tokens_generated_total{model="m"} 42.0' in text
    assert 'modelport_engine_running{model="m"} 2.0' in text
    assert "modelport_requests_in_flight 3.0" in text
    assert "modelport_queue_depth 4.0" in text


def test_models_without_an_engine_export_no_engine_series() -> None:
    class Plain(ChatModel):
        def predict(self, context: Any, messages: Any, params: Any = None) -> Any:
            raise NotImplementedError

    loaded = _loaded(Plain())
    assert engine_stats(loaded) is None
    metrics = Metrics(in_flight=lambda: 0, queue_depth=lambda: 0, models=lambda: [("p", loaded)])
    assert 'model="p"' not in metrics.render().decode()


def test_usage_counts_tokens_per_model_and_apps_do_not_share_registries() -> None:
    first = Metrics(in_flight=lambda: 0, queue_depth=lambda: 0, models=list)
    second = Metrics(in_flight=lambda: 0, queue_depth=lambda: 0, models=list)
    first.observe_usage("m", Usage(prompt_tokens=5, completion_tokens=3))
    first.observe_usage("m", None)
    first.observe_request("/v1/models", "GET", 200, 0.01)
    text = first.render().decode()
    assert 'modelport_tokens_generated_total{model="m"} 3.0' in text
    assert 'modelport_prompt_tokens_total{model="m"} 5.0' in text
    assert "modelport_tokens_generated_total{" not in second.render().decode()
