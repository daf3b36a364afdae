"""Shared fixtures: every test runs in its own working directory with its own tracking store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from modelport import LoadedModel


@pytest.fixture(autouse=True)
def _isolated_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own cwd and tracking location, so no test sees another's files."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELPORT_TRACKING_URI", raising=False)
    yield tmp_path


@pytest.fixture(scope="session")
def demo_model_uri() -> str:
    """The real demo chat model (SmolLM2-135M-Instruct), built once and cached outside the repo."""
    from modelport.demo import build_demo_package

    return str(build_demo_package())


@pytest.fixture(scope="session")
def demo_tokenizer() -> Any:
    """The demo model's tokenizer (and chat template)."""
    from transformers import AutoTokenizer

    from modelport.demo import demo_hf_folder

    return AutoTokenizer.from_pretrained(demo_hf_folder(progress=False))


@pytest.fixture(scope="session")
def make_tiny_llama(demo_tokenizer: Any) -> Callable[..., Any]:
    """Build a 2-layer random-weight Llama over the demo tokenizer: a real transformers model,
    fast enough for any test that does not need sensible text."""

    def make(*, hidden_size: int, context: int, seed: int = 0) -> Any:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        config = LlamaConfig(
            vocab_size=len(demo_tokenizer),
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=context,
            bos_token_id=demo_tokenizer.bos_token_id,
            eos_token_id=demo_tokenizer.eos_token_id,
            pad_token_id=demo_tokenizer.eos_token_id,
        )
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
        model.eval()
        return model

    return make


@pytest.fixture
def save_and_load(tmp_path: Path) -> Callable[..., LoadedModel]:
    """Save a model instance (as a pickle) under ``tmp_path`` and load it back.

    Loading a pickle warns (``UnsafePickleWarning``); the fixture checks that it does.
    """
    from modelport import load_model, save_model
    from modelport.flavors.python import UnsafePickleWarning

    counter = iter(range(1_000_000))

    def run(python_model: Any, **save_kwargs: Any) -> LoadedModel:
        path = tmp_path / f"saved-model-{next(counter)}"
        save_model(path, python_model=python_model, **save_kwargs)
        with pytest.warns(UnsafePickleWarning):
            return load_model(path)

    return run
