"""The transformers flavor's part of the manifest (``flavor_config``), its load options, defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import ConfigDict, Field, model_validator

from modelport.engine import EngineConfig
from modelport.errors import InvalidRequestError, PackageError
from modelport.flavors import LoadOptions
from modelport.settings import Settings

Task = Literal["llm/v1/chat", "llm/v1/completions", "text-generation"]
Dtype = Literal["auto", "float32", "bfloat16", "float16"]
Device = Literal["auto", "cpu", "cuda"]
TASKS: tuple[str, ...] = get_args(Task)
DTYPES: tuple[str, ...] = get_args(Dtype)
DEVICES: tuple[str, ...] = get_args(Device)
# The new-token limit when neither the request, the package's model_config nor the model's
# generation_config give one.
DEFAULT_MAX_NEW_TOKENS = 256


def engine_config_to_dict(value: Any) -> dict[str, Any]:
    """An ``EngineConfig``, a dict of its fields, or None, as a plain dict (validated)."""
    if value is None:
        return {}
    try:
        config = EngineConfig.parse(value, "engine_config")
    except InvalidRequestError as exc:
        raise PackageError(exc.message, param="engine_config") from None
    return config.model_dump(exclude_unset=True)


class TransformersConfig(Settings):
    """What the transformers flavor stores in the manifest's ``flavor_config``.

    Fields it does not know are ignored (a newer modelport may add some).
    """

    model_config = ConfigDict(extra="ignore", protected_namespaces=(), populate_by_name=True)
    error = PackageError

    task: Task
    model_dir: str | None = None  # the Hugging Face folder inside the package …
    reference: str | None = None  # … or the absolute path of a folder outside it
    model_name: str = "transformers-model"
    dtype: Dtype | None = None
    device: Device = "cpu"
    engine_config: EngineConfig = Field(default_factory=EngineConfig)
    model_config_file: str | None = Field(None, alias="model_config")

    @model_validator(mode="after")
    def _one_location(self) -> TransformersConfig:
        if (self.model_dir is None) == (self.reference is None):
            raise ValueError("it needs exactly one of 'model_dir' and 'reference'")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(by_alias=True)
        data["engine_config"] = self.engine_config.model_dump(exclude_unset=True)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransformersConfig:
        return cls.parse(dict(data), "transformers flavor_config")

    @staticmethod
    def check_max_new_tokens(model_config: Mapping[str, Any]) -> int | None:
        """The ``max_new_tokens`` of a package's model_config (validated), or None."""
        value = model_config.get("max_new_tokens")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PackageError(
                f"model_config max_new_tokens must be a positive integer, got {value!r}"
            )
        return value


class TransformersLoadOptions(LoadOptions):
    """What ``modelport.load_model(uri, **options)`` may change in a transformers package.

    ``engine_config`` fields override the package's own (those not given keep the saved value);
    ``batching=False`` is a shortcut for ``engine_config={"batching": False}`` (``--no-batching``).
    """

    device: Device | None = None
    dtype: Dtype | None = None
    batching: bool | None = None
    engine_config: EngineConfig | None = None
    # the tool-call format of a chat model (``--tool-call-format``), over the package's
    # model_config["tool_call_format"] and the one detected from its chat template
    tool_call_format: str | None = None

    def engine(self, saved: EngineConfig) -> EngineConfig:
        """The engine settings: the saved ones, updated by these options."""
        update: dict[str, Any] = {}
        if self.engine_config is not None:
            update = self.engine_config.model_dump(exclude_unset=True)
        if self.batching is not None:
            update["batching"] = self.batching
        return saved.model_copy(update=update)
