"""``modelport.transformers``: save and load Hugging Face causal LMs as chat models.

::

    modelport.transformers.save_model("my-chat", transformers_model=pipe, task="llm/v1/chat")
    chat = modelport.load_model("my-chat")                    # the OpenAI-style chat model
    model, tokenizer = modelport.transformers.load_model("my-chat")

See docs/transformers.md.
"""

from __future__ import annotations

from modelport.flavors.transformers import (
    DEFAULT_MAX_NEW_TOKENS,
    TASKS,
    load_chat_model,
    load_model,
    save_model,
)

__all__ = ["DEFAULT_MAX_NEW_TOKENS", "TASKS", "load_chat_model", "load_model", "save_model"]
