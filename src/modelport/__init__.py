"""modelport: build, package, version and serve chat models behind an OpenAI-compatible API."""

from __future__ import annotations

__version__ = "0.1.0"

from modelport.flavors.python import save_model
from modelport.model import ChatModel, CompletionModel, Context, PythonModel, set_model
from modelport.package.load import LoadedModel, load_model
from modelport.signature import ColSpec, ParamSchema, ParamSpec, Schema, Signature, infer_signature

__all__ = [
    "ChatModel",
    "ColSpec",
    "CompletionModel",
    "Context",
    "LoadedModel",
    "ParamSchema",
    "ParamSpec",
    "PythonModel",
    "Schema",
    "Signature",
    "__version__",
    "infer_signature",
    "load_model",
    "save_model",
    "set_model",
]
