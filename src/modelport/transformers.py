"""``modelport.transformers``: save, log and load Hugging Face causal LMs as chat models.

::

    modelport.transformers.save_model("my-chat", transformers_model=pipe, task="llm/v1/chat")
    chat = modelport.load_model("my-chat")                    # the OpenAI-style chat model
    chat = modelport.load_model("my-chat", batching=False, dtype="bfloat16")  # load options
    model, tokenizer = modelport.transformers.load_model("my-chat")

See docs/transformers.md.
"""

from __future__ import annotations

from typing import Any

from modelport.flavors.transformers import (
    DEFAULT_MAX_NEW_TOKENS,
    TASKS,
    TransformersLoadOptions,
    load_model,
    save_model,
)


def log_model(
    name: str | None = None,
    transformers_model: Any = None,
    *,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    **save_kwargs: Any,
) -> Any:
    """Save the model into the active run's artifacts as ``<name>/`` (see ``save_model`` for the
    options); ``registered_model_name`` also registers it. Returns the ``ModelInfo``
    (``model_uri`` is ``runs:/<run_id>/<name>``)."""
    from modelport.tracking.fluent import log_model as log_any_model  # the tracking extra

    return log_any_model(
        name,
        transformers_model=transformers_model,
        registered_model_name=registered_model_name,
        artifact_path=artifact_path,
        **save_kwargs,
    )


__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "TASKS",
    "TransformersLoadOptions",
    "load_model",
    "log_model",
    "save_model",
]
