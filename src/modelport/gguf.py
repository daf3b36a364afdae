"""``modelport.gguf``: save, log and load GGUF model files, served by llama.cpp.

::

    modelport.gguf.save_model("my-chat", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    chat = modelport.load_model("my-chat")                     # the OpenAI-style chat model
    chat = modelport.load_model("my-chat", engine_config={"num_threads": 2})
    model, tokenizer = modelport.gguf.load_model("my-chat")   # llama.cpp's model, the tokenizer

See docs/gguf.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.flavors.gguf import TASKS, GGUFLoadOptions, load_model, save_model


def log_model(
    name: str | None = None,
    gguf_file: str | Path | None = None,
    *,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    **save_kwargs: Any,
) -> Any:
    """Save the file into the active run's artifacts as ``<name>/`` (see ``save_model`` for the
    options); ``registered_model_name`` also registers it. Returns the ``ModelInfo``."""
    from modelport.tracking.fluent import log_model as log_any_model  # the tracking extra

    return log_any_model(
        name,
        gguf_file=gguf_file,
        registered_model_name=registered_model_name,
        artifact_path=artifact_path,
        **save_kwargs,
    )


__all__ = ["TASKS", "GGUFLoadOptions", "load_model", "log_model", "save_model"]
