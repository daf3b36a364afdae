"""OpenAI (legacy) Completions wire format, fields in the order of the official API reference."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from modelport.types._base import KeepsNulls, RequestModel, WireModel
from modelport.types.chat import (
    LOGIT_BIAS_SCHEMA,
    SEED_MAX,
    SEED_MIN,
    STOP_SCHEMA,
    TOP_K_MAX,
    StopAndUsage,
    StreamOptions,
    Usage,
    check_logit_bias,
    check_stop,
    new_id,
    now,
)


class CompletionParams(StopAndUsage, RequestModel):
    """The parameters of a completions request (everything but ``model`` and ``prompt``)."""

    echo: bool = False
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = Field(default=None, json_schema_extra=LOGIT_BIAS_SCHEMA)
    logprobs: int | None = Field(default=None, ge=0, le=5)
    max_tokens: int | None = Field(default=16, ge=1)
    n: int = Field(default=1, ge=1, le=128)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    seed: int | None = Field(default=None, ge=SEED_MIN, le=SEED_MAX)
    stop: str | list[str] | None = Field(default=None, json_schema_extra=STOP_SCHEMA)
    stream: bool = False
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    user: str | None = None
    # modelport extension
    top_k: int | None = Field(default=None, ge=1, le=TOP_K_MAX)
    custom_inputs: dict[str, Any] | None = None

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, stop: str | list[str] | None) -> str | list[str] | None:
        return check_stop(stop)

    @field_validator("logit_bias")
    @classmethod
    def _check_logit_bias(cls, bias: dict[str, float] | None) -> dict[str, float] | None:
        return check_logit_bias(bias)


class CompletionRequest(CompletionParams):
    """A completions request: ``prompt`` is a string or a list of strings."""

    model: str | None = None
    prompt: str | list[str] = Field(
        json_schema_extra={
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        }
    )

    @field_validator("prompt")
    @classmethod
    def _check_prompt(cls, prompt: str | list[str]) -> str | list[str]:
        if isinstance(prompt, list) and not prompt:
            raise ValueError("'prompt' must not be an empty list")
        return prompt

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)

    @property
    def params(self) -> CompletionParams:
        # exclude_unset: the params know which fields the client sent (max_tokens' default of
        # 16 is cut to the context silently, a max_tokens sent that does not fit is a 400)
        data = self.model_dump(
            exclude={"prompt", "model", *(self.model_extra or ())}, exclude_unset=True
        )
        return CompletionParams.model_validate(data)


class CompletionLogprobs(WireModel):
    text_offset: list[int] | None = None
    token_logprobs: list[float] | None = None
    tokens: list[str] | None = None
    top_logprobs: list[dict[str, float]] | None = None


class CompletionChoice(KeepsNulls):
    always_sent = ("finish_reason",)

    finish_reason: Literal["stop", "length", "content_filter"] | None = "stop"
    index: int = 0
    logprobs: CompletionLogprobs | None = None
    text: str


class CompletionResponse(WireModel):
    """One ``text_completion`` object."""

    id: str = Field(default_factory=lambda: new_id("cmpl"))
    choices: list[CompletionChoice]
    created: int = Field(default_factory=now)
    model: str = ""
    object: Literal["text_completion"] = "text_completion"
    system_fingerprint: str | None = None
    usage: Usage | None = None


class CompletionChunk(CompletionResponse):
    """One chunk of a streamed completion: the same shape, ``finish_reason`` None until the end."""
