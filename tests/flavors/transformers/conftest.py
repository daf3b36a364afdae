"""Fixtures for the transformers flavor: a tiny random-weight Llama with the demo tokenizer.

``tiny_llama_folder`` (a Hugging Face folder) and ``tiny_llama`` (``(model, tokenizer)``) are
session-scoped and cheap (about a second): use them for fast tests of anything that needs a real
transformers model but not sensible text. The real demo model is ``demo_model_uri`` (tests/conftest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TINY_CONTEXT = 128


@pytest.fixture(scope="session")
def tiny_llama_folder(
    tmp_path_factory: pytest.TempPathFactory,
    make_tiny_llama: Callable[..., Any],
    demo_tokenizer: Any,
) -> Path:
    """A 2-layer random Llama with the demo tokenizer (and its chat template), as a folder."""
    folder = tmp_path_factory.mktemp("tiny-llama") / "TinyLlama"
    make_tiny_llama(hidden_size=32, context=TINY_CONTEXT).save_pretrained(folder)
    demo_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama(tiny_llama_folder: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_folder)
    model.eval()
    return model, AutoTokenizer.from_pretrained(tiny_llama_folder)


@pytest.fixture(scope="session")
def tiny_chat_package(tmp_path_factory: pytest.TempPathFactory, tiny_llama_folder: Path) -> Path:
    """A chat package of the tiny Llama (weights copied in)."""
    from modelport.flavors.transformers import save_model

    path = tmp_path_factory.mktemp("packages") / "tiny-chat"
    save_model(
        path,
        transformers_model=tiny_llama_folder,
        task="llm/v1/chat",
        dtype="float32",
        progress=False,
    )
    return path


@pytest.fixture(scope="session")
def tiny_chat(tiny_chat_package: Path) -> Iterator[Any]:
    """The tiny chat package, loaded (one engine for the session, shut down at the end)."""
    import modelport

    loaded = modelport.load_model(tiny_chat_package)
    yield loaded
    loaded.unwrap_python_model().close()


@pytest.fixture(scope="session")
def demo_chat(demo_model_uri: str) -> Iterator[Any]:
    """The real demo model, loaded once for the session."""
    import modelport

    loaded = modelport.load_model(demo_model_uri)
    yield loaded
    loaded.unwrap_python_model().close()
