"""Metrics: a registry per app, and each loaded model's ``stats()`` read at scrape time."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport import ChatModel, Context
from modelport.package.load import LoadedModel
from modelport.package.manifest import Manifest
from modelport.serving.metrics import ENGINE_SERIES, Metrics
from modelport.types import Usage


class CountingChat(ChatModel):
    """A chat model with the optional ``stats()`` hook, as the transformers flavor's have."""

    def __init__(self) -> None:
        self.counters: dict[str, Any] = {"tokens_generated": 0, "running": 2, "waiting": 1}

    def predict(self, context: Any, messages: Any, params: Any = None) -> Any:
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        return dict(self.counters)

    def engine_info(self) -> dict[str, str]:
        return {"path": "padded", "reason": "its attention is its own"}


class Plain(ChatModel):
    def predict(self, context: Any, messages: Any, params: Any = None) -> Any:
        raise NotImplementedError


def _loaded(model: ChatModel) -> LoadedModel:
    return LoadedModel(model, Context(), Manifest(flavor="python", task="llm/v1/chat"))


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_models_stats_are_exported_at_scrape_time() -> None:
    model = CountingChat()
    loaded = _loaded(model)
    assert loaded.stats() == {"tokens_generated": 0, "running": 2, "waiting": 1}
    metrics = Metrics(in_flight=lambda: 3, queue_depth=lambda: 4, models=lambda: [("m", loaded)])
    model.counters["tokens_generated"] = 42  # read when scraped, not when registered
    samples = _samples(metrics)
    m = (("model", "m"),)
    assert samples[("modelport_engine_tokens_generated_total", m)] == 42
    assert samples[("modelport_engine_running", m)] == 2
    assert samples[("modelport_engine_waiting", m)] == 1
    assert ("modelport_engine_steps_total", m) not in samples  # not reported: left out
    assert samples[("modelport_engine_path_info", (("model", "m"), ("path", "padded")))] == 1
    assert samples[("modelport_requests_in_flight", ())] == 3
    assert samples[("modelport_queue_depth", ())] == 4


def test_only_known_numeric_stats_are_exported() -> None:
    model = CountingChat()
    model.counters = {"steps": 7, "favourite_colour": 3, "running": "many"}
    metrics = Metrics(
        in_flight=lambda: 0, queue_depth=lambda: 0, models=lambda: [("m", _loaded(model))]
    )
    engine = {name for name, _ in _samples(metrics) if name.startswith("modelport_engine")}
    assert engine == {"modelport_engine_steps_total", "modelport_engine_path_info"}
    assert set(ENGINE_SERIES) >= {"tokens_generated", "steps", "running", "waiting"}


def test_a_failing_stats_hook_does_not_break_the_scrape(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Plain):
        def stats(self) -> dict[str, Any]:
            raise RuntimeError("counter gone")

        def engine_info(self) -> dict[str, str]:
            raise RuntimeError("engine gone")

    good = CountingChat()
    metrics = Metrics(
        in_flight=lambda: 0,
        queue_depth=lambda: 0,
        models=lambda: [("bad", _loaded(Broken())), ("good", _loaded(good))],
    )
    with caplog.at_level(logging.WARNING, logger="modelport.serving.metrics"):
        samples = _samples(metrics)
    assert samples[("modelport_engine_running", (("model", "good"),))] == 2
    assert not any(labels == (("model", "bad"),) for _, labels in samples)
    assert "stats() of model 'bad' failed" in caplog.text
    assert "engine_info() of model 'bad' failed" in caplog.text


def test_models_without_stats_export_no_engine_series() -> None:
    loaded = _loaded(Plain())
    assert loaded.stats() is None
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
