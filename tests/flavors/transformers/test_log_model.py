"""``modelport.transformers.log_model``: a transformers model in a run, registered, loaded back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import modelport
import modelport.tracking as mt
import modelport.transformers
from modelport.errors import InvalidRequestError
from modelport.tracking.state import tracking_state


@pytest.fixture(autouse=True)
def _fresh_tracking() -> Iterator[None]:
    yield
    while mt.active_run() is not None:
        mt.end_run()
    tracking_state.reset()


def test_log_model_logs_registers_and_loads(tiny_llama_folder: Path) -> None:
    with mt.start_run() as run:
        info = modelport.transformers.log_model(
            "chat",
            transformers_model=tiny_llama_folder,
            save_pretrained=False,
            progress=False,
            registered_model_name="tiny-chat",
        )
    assert info.model_uri == f"runs:/{run.info.run_id}/chat"
    assert (info.flavor, info.task, info.registered_model_version) == (
        "transformers",
        "llm/v1/chat",
        1,
    )
    for uri in (info.model_uri, "models:/tiny-chat/1"):
        loaded = modelport.load_model(uri)
        try:
            response = loaded.predict(
                {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
            )
            assert response["usage"]["completion_tokens"] <= 2
        finally:
            loaded.unwrap_python_model().close()
    model, tokenizer = modelport.transformers.load_model(info.model_uri)
    assert model.config.hidden_size == 32
    assert tokenizer.chat_template


def test_log_model_names_the_accepted_options(tiny_llama_folder: Path) -> None:
    with mt.start_run(), pytest.raises(InvalidRequestError, match="save_pretrained"):
        modelport.transformers.log_model(
            "chat", transformers_model=tiny_llama_folder, batching=False
        )


def test_the_public_module_exports_what_it_lists() -> None:
    assert sorted(modelport.transformers.__all__) == sorted(
        name
        for name in vars(modelport.transformers)
        if not name.startswith("_") and name not in ("annotations", "Any")
    )
