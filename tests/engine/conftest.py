"""A tiny random-weight Llama with the demo tokenizer: fast enough to run the engine for real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

TINY_CONTEXT = 256


@pytest.fixture(scope="session")
def tokenizer(demo_tokenizer: Any) -> Any:
    return demo_tokenizer


@pytest.fixture(scope="session")
def tiny_model(make_tiny_llama: Callable[..., Any]) -> Any:
    return make_tiny_llama(hidden_size=64, context=TINY_CONTEXT)


@pytest.fixture(params=["packed", "padded", "serial"])
def engine_path(request: pytest.FixtureRequest) -> str:
    """The engine's behaviour tests run on both paths (modelport.engine.runners)."""
    return str(request.param)


@pytest.fixture
def make_engine(tiny_model: Any, tokenizer: Any, engine_path: str) -> Iterator[Any]:
    """Build engines on the tiny model, on each engine path; every engine built is shut down
    after the test."""
    from modelport.engine import EngineConfig, GenerationEngine

    engines: list[GenerationEngine] = []

    def make(**config: Any) -> GenerationEngine:
        eos = config.pop("eos_token_ids", None)
        config.setdefault("path", engine_path)
        engine = GenerationEngine(tiny_model, tokenizer, EngineConfig(**config), eos_token_ids=eos)
        assert engine.path == config["path"]
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown()


@pytest.fixture(scope="session")
def prompts(tokenizer: Any) -> list[list[int]]:
    """Token ids of varied prompts, of different lengths."""
    texts = [
        "What is the capital of France?",
        "Write a haiku about the sea.",
        "Hi",
        "Explain, in a few careful sentences, why the sky looks blue during the day.",
        "List three fruits.",
        "Bonjour, ça va ? 你好",
    ]
    return [tokenizer.encode(text) for text in texts]
