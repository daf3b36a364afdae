"""The gguf flavor's part of the manifest (``flavor_config``) and its load options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import ConfigDict, Field, model_validator

from modelport.engine import EngineConfig
from modelport.errors import PackageError
from modelport.flavors import LoadOptions
from modelport.settings import Settings

Task = Literal["llm/v1/chat", "llm/v1/completions"]
TASKS: tuple[str, ...] = get_args(Task)


class GGUFConfig(Settings):
    """What the gguf flavor stores in the manifest's ``flavor_config`` (unknown fields are
    ignored: a newer modelport may add some)."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=(), populate_by_name=True)
    error = PackageError

    task: Task
    gguf_file: str | None = None  # the file inside the package …
    reference: str | None = None  # … or the absolute path of one outside it
    model_name: str = "gguf-model"
    architecture: str = "unknown"
    file_type: str = "unknown"  # the weights' quantization, as llama.cpp names it ("Q4_1")
    chat_template_file: str | None = None  # a template given at save, over the file's own
    engine_config: EngineConfig = Field(default_factory=EngineConfig)
    model_config_file: str | None = Field(None, alias="model_config")

    @model_validator(mode="after")
    def _one_location(self) -> GGUFConfig:
        if (self.gguf_file is None) == (self.reference is None):
            raise ValueError("it needs exactly one of 'gguf_file' and 'reference'")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(by_alias=True)
        data["engine_config"] = self.engine_config.model_dump(exclude_unset=True)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GGUFConfig:
        return cls.parse(dict(data), "gguf flavor_config")


class GGUFLoadOptions(LoadOptions):
    """What ``modelport.load_model(uri, **options)`` may change in a gguf package: the engine's
    settings (``num_threads`` is llama.cpp's thread count, ``kv_cache_bytes`` the size of its
    cache), ``batching=False``, the tool-call format. The weights' type is the file's own: there
    is no ``dtype`` or ``device`` (CPU only)."""

    batching: bool | None = None
    engine_config: EngineConfig | None = None
    tool_call_format: str | None = None

    def engine(self, saved: EngineConfig) -> EngineConfig:
        update: dict[str, Any] = {}
        if self.engine_config is not None:
            update = self.engine_config.model_dump(exclude_unset=True)
        if self.batching is not None:
            update["batching"] = self.batching
        return saved.model_copy(update=update)
