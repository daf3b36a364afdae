"""The ``gguf`` flavor: a GGUF model file (llama.cpp's format) served by llama.cpp.

::

    config.py   the manifest's flavor_config, the load options, tasks
    save.py     save_model: a .gguf file becomes a package (copied or referenced)
    load.py     load_model (llama.cpp model + tokenizer); the flavor object and its load

The steps run on :mod:`modelport.engine.llama` (the engine's scheduler, a llama.cpp runner); the
chat layer (template renderer, tool formats, grammars) is the transformers flavor's, over the
file's tokenizer as transformers reads it. See docs/gguf.md.
"""

from __future__ import annotations

from modelport.flavors.gguf.config import TASKS, GGUFLoadOptions
from modelport.flavors.gguf.load import GGUFFlavor, flavor, load_model
from modelport.flavors.gguf.save import save_model

__all__ = ["TASKS", "GGUFFlavor", "GGUFLoadOptions", "flavor", "load_model", "save_model"]
