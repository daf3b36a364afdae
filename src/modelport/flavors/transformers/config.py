"""The transformers flavor's part of the manifest (``flavor_config``) and its defaults."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelport.engine import EngineConfig
from modelport.errors import PackageError

TASKS = ("llm/v1/chat", "llm/v1/completions", "text-generation")
DTYPES = ("auto", "float32", "bfloat16", "float16")
DEVICES = ("auto", "cpu", "cuda")
# The new-token limit when neither the request, the package's model_config nor the model's
# generation_config give one.
DEFAULT_MAX_NEW_TOKENS = 256


def engine_config_to_dict(value: Any) -> dict[str, Any]:
    """An ``EngineConfig``, a dict of its fields, or None, as a plain dict (validated)."""
    if value is None:
        return {}
    if isinstance(value, EngineConfig):
        return dataclasses.asdict(value)
    if not isinstance(value, Mapping):
        raise PackageError(
            f"engine_config must be an EngineConfig or a dict, got {type(value).__name__}"
        )
    engine_config_from_dict(value)
    return dict(value)


def engine_config_from_dict(value: Mapping[str, Any] | None) -> EngineConfig:
    known = {f.name for f in dataclasses.fields(EngineConfig)}
    unknown = sorted(set(value or {}) - known)
    if unknown:
        raise PackageError(
            f"unknown engine_config field(s) {', '.join(unknown)}; accepted: "
            f"{', '.join(sorted(known))}"
        )
    try:
        return EngineConfig(**dict(value or {}))
    except TypeError as exc:
        raise PackageError(f"invalid engine_config: {exc}") from None


@dataclass
class TransformersConfig:
    """What the transformers flavor stores in the manifest's ``flavor_config``."""

    task: str
    model_dir: str | None = None  # the Hugging Face folder inside the package …
    reference: str | None = None  # … or the absolute path of a folder outside it
    model_name: str = "transformers-model"
    dtype: str | None = None
    device: str = "cpu"
    engine_config: dict[str, Any] = field(default_factory=dict)
    model_config: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransformersConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            config = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise PackageError(f"the transformers flavor_config is malformed: {exc}") from None
        if config.task not in TASKS:
            raise PackageError(
                f"the package's task {config.task!r} is not one the transformers flavor "
                f"serves ({', '.join(TASKS)})"
            )
        if (config.model_dir is None) == (config.reference is None):
            raise PackageError(
                "the transformers flavor_config needs exactly one of 'model_dir' and 'reference'"
            )
        return config

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
