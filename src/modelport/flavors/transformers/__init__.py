"""The ``transformers`` flavor: any Hugging Face causal LM as an OpenAI-style chat model.

::

    save.py         save_model: a pipeline, a {"model", "tokenizer"} dict or a local folder
    config.py       the manifest's flavor_config, the load options, tasks, dtypes, devices
    load.py         load_model (model + tokenizer); the flavor object and its load
    lm.py           CausalLM: one engine per loaded model; the new-token limit; params →
                    SamplingParams
    template.py     messages (and tools) through the tokenizer's chat template
    chat.py         TransformersChatModel (llm/v1/chat)
    completions.py  TransformersCompletionModel (llm/v1/completions), TextGenerationModel
"""

from __future__ import annotations

from modelport.flavors.transformers.config import (
    DEFAULT_MAX_NEW_TOKENS,
    TASKS,
    TransformersLoadOptions,
)
from modelport.flavors.transformers.load import TransformersFlavor, flavor, load_model
from modelport.flavors.transformers.save import save_model

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "TASKS",
    "TransformersFlavor",
    "TransformersLoadOptions",
    "flavor",
    "load_model",
    "save_model",
]
