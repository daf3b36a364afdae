"""OpenAI Chat Completions wire format, fields in the order of the official API reference.

Extensions that OpenAI does not define are grouped at the end of each class and marked
``# modelport extension``.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict, JsonValue

from modelport.types._base import KeepsNulls, RequestModel, WireModel

Role = Literal["system", "developer", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


# OpenAI's seed is a 64-bit integer; a larger one would overflow the sampler's generator.
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1


def check_logit_bias(bias: dict[str, float] | None) -> dict[str, float] | None:
    """OpenAI's rule: token ids (as strings) mapped to a bias between -100 and 100."""
    if bias is None:
        return None
    for key, value in bias.items():
        if not key.isascii() or not key.isdigit() or len(key) > 12:
            raise ValueError(f"keys are token ids (integers ≥ 0 as strings), got {key!r}")
        if not -100.0 <= value <= 100.0:
            raise ValueError(f"the bias of token {key} must be between -100 and 100, got {value}")
    return bias


# Longer stop strings make matching cost grow on the engine thread that every request shares.
MAX_STOP_LENGTH = 1024
# top_k beyond the vocabulary means no limit; beyond int32 it is a mistake.
TOP_K_MAX = 2**31 - 1


def check_stop(stop: str | list[str] | None) -> str | list[str] | None:
    """OpenAI's rule: up to 4 stop sequences, none of them empty; each at most 1024 characters
    (:data:`STOP_SCHEMA`)."""
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if len(stops) > 4:
        raise ValueError(f"at most 4 stop sequences are accepted, got {len(stops)}")
    if any(s == "" for s in stops):
        raise ValueError("stop sequences must not be empty strings")
    longest = max((len(s) for s in stops), default=0)
    if longest > MAX_STOP_LENGTH:
        raise ValueError(
            f"a stop sequence may have at most {MAX_STOP_LENGTH} characters, got one of {longest}"
        )
    return stop


# The JSON schema of ``stop``: what check_stop accepts (the validator keeps its own messages).
LOGIT_BIAS_SCHEMA: JsonDict = {
    "anyOf": [
        {
            "type": "object",
            "propertyNames": {"pattern": "^[0-9]{1,12}$"},
            "additionalProperties": {"type": "number", "minimum": -100, "maximum": 100},
        },
        {"type": "null"},
    ]
}

STOP_SCHEMA: JsonDict = {
    "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_STOP_LENGTH},
        {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_STOP_LENGTH},
            "maxItems": 4,
        },
        {"type": "null"},
    ]
}


# --- messages ---------------------------------------------------------------------------------


class ContentPart(WireModel):
    """One part of a multi-part message: ``text``, ``image_url``, ``input_audio``, ``file``…"""

    model_config = {"extra": "allow"}

    type: str
    text: str | None = None


class FunctionCall(WireModel):
    name: str
    arguments: str = "{}"


class ToolCall(WireModel):
    id: str = Field(default_factory=lambda: new_id("call"))
    type: Literal["function"] = "function"
    function: FunctionCall


_GIVEN: JsonDict = {"not": {"type": "null"}}
# What _check_role_fields requires of each role, for the JSON schema.
_ROLE_RULES: list[JsonValue] = [
    {
        "if": {"required": ["role"], "properties": {"role": {"const": "tool"}}},
        "then": {
            "required": ["tool_call_id"],
            "properties": {"tool_call_id": {"type": "string", "minLength": 1}},
        },
    },
    {
        "if": {
            "required": ["role"],
            "properties": {"role": {"enum": ["system", "developer", "user", "tool"]}},
        },
        "then": {"required": ["content"], "properties": {"content": _GIVEN}},
    },
    {
        "if": {"required": ["role"], "properties": {"role": {"const": "assistant"}}},
        "then": {
            "anyOf": [
                {"required": ["content"], "properties": {"content": _GIVEN}},
                {
                    "required": ["tool_calls"],
                    "properties": {"tool_calls": {"type": "array", "minItems": 1}},
                },
                {"required": ["refusal"], "properties": {"refusal": _GIVEN}},
            ]
        },
    },
]


class ChatMessage(WireModel):
    """One message of a conversation."""

    model_config = ConfigDict(json_schema_extra={"allOf": _ROLE_RULES})

    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None

    @model_validator(mode="after")
    def _check_role_fields(self) -> ChatMessage:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a message with role 'tool' needs 'tool_call_id'")
        if self.role in ("system", "developer", "user", "tool") and self.content is None:
            raise ValueError(f"a message with role '{self.role}' needs 'content'")
        if (
            self.role == "assistant"
            and self.content is None
            and not self.tool_calls
            and self.refusal is None
        ):
            raise ValueError("an assistant message needs 'content', 'tool_calls' or 'refusal'")
        return self

    @property
    def text(self) -> str:
        """The message's text: the content string, or its text parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text or "" for part in self.content if part.type == "text")


class FunctionDefinition(WireModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(WireModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class StreamOptions(WireModel):
    include_usage: bool = False


class StopAndUsage:
    """``stop_sequences`` and ``include_usage``, shared by the chat and completions params.

    A plain mixin, so the pydantic fields (and their documented order) stay in each class.
    """

    if TYPE_CHECKING:
        stop: str | list[str] | None
        stream_options: StreamOptions | None

    @property
    def stop_sequences(self) -> list[str]:
        """``stop`` as a list (empty when not given)."""
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ResponseFormat(WireModel):
    model_config = {"extra": "allow"}

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None


# --- request ----------------------------------------------------------------------------------


class ChatParams(StopAndUsage, RequestModel):
    """The parameters of a chat request, read as attributes inside ``ChatModel.predict``.

    Ranges are those of the OpenAI API. ``custom_inputs`` is passed through to the model.
    """

    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = Field(default=None, json_schema_extra=LOGIT_BIAS_SCHEMA)
    logprobs: bool | None = None
    max_completion_tokens: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1, le=128)
    parallel_tool_calls: bool | None = None
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    response_format: ResponseFormat | None = None
    seed: int | None = Field(default=None, ge=SEED_MIN, le=SEED_MAX)
    stop: str | list[str] | None = Field(default=None, json_schema_extra=STOP_SCHEMA)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    tools: list[ToolDefinition] | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    user: str | None = None
    # modelport extension
    top_k: int | None = Field(default=None, ge=1, le=TOP_K_MAX)
    # None when the client sent none, as in MLflow (tutorials test `is not None`)
    custom_inputs: dict[str, Any] | None = None

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, stop: str | list[str] | None) -> str | list[str] | None:
        return check_stop(stop)

    @field_validator("logit_bias")
    @classmethod
    def _check_logit_bias(cls, bias: dict[str, float] | None) -> dict[str, float] | None:
        return check_logit_bias(bias)

    @property
    def token_limit(self) -> int | None:
        """The new-token limit: ``max_completion_tokens``, else ``max_tokens``, else None."""
        return self.max_completion_tokens or self.max_tokens


class ChatCompletionRequest(ChatParams):
    """A chat request: ``messages`` (at least one), an optional ``model`` name and the params."""

    messages: list[ChatMessage] = Field(json_schema_extra={"minItems": 1})
    model: str | None = None

    @field_validator("messages")
    @classmethod
    def _check_messages(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if not messages:
            raise ValueError("'messages' must hold at least one message")
        return messages

    @property
    def params(self) -> ChatParams:
        """The request's params (everything but ``messages`` and ``model``)."""
        data = self.model_dump(exclude={"messages", "model", *(self.model_extra or ())})
        return ChatParams.model_validate(data)


# --- response ---------------------------------------------------------------------------------


class TopLogprob(WireModel):
    token: str
    bytes: list[int] | None = None
    logprob: float


class TokenLogprob(WireModel):
    token: str
    bytes: list[int] | None = None
    logprob: float
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class ChoiceLogprobs(WireModel):
    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class Usage(WireModel):
    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int | None = None

    @model_validator(mode="after")
    def _fill_total(self) -> Usage:
        if self.total_tokens is None:
            self.total_tokens = self.prompt_tokens + self.completion_tokens
        return self


TokenUsageStats = Usage  # MLflow's name for the same object


class ChatChoice(WireModel):
    finish_reason: FinishReason = "stop"
    index: int = 0
    logprobs: ChoiceLogprobs | None = None
    message: ChatMessage


class ChatCompletionResponse(WireModel):
    """One ``chat.completion`` object."""

    id: str = Field(default_factory=lambda: new_id("chatcmpl"))
    choices: list[ChatChoice]
    created: int = Field(default_factory=now)
    model: str = ""
    object: Literal["chat.completion"] = "chat.completion"
    system_fingerprint: str | None = None
    usage: Usage | None = None
    # modelport extension
    custom_outputs: dict[str, Any] | None = None


class ChoiceDeltaFunctionCall(WireModel):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(WireModel):
    index: int = 0
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChoiceDeltaFunctionCall | None = None


class ChatChoiceDelta(WireModel):
    content: str | None = None
    refusal: str | None = None
    role: Role | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None


class ChatChunkChoice(KeepsNulls):
    always_sent = ("finish_reason",)

    delta: ChatChoiceDelta = Field(default_factory=ChatChoiceDelta)
    finish_reason: FinishReason | None = None
    index: int = 0
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(WireModel):
    """One ``chat.completion.chunk`` of a stream."""

    id: str = Field(default_factory=lambda: new_id("chatcmpl"))
    choices: list[ChatChunkChoice] = Field(default_factory=list)
    created: int = Field(default_factory=now)
    model: str = ""
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    system_fingerprint: str | None = None
    usage: Usage | None = None
    # modelport extension
    custom_outputs: dict[str, Any] | None = None
