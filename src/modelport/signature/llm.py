"""The fixed signatures of the LLM tasks (``llm/v1/chat``, ``llm/v1/completions``)."""

from __future__ import annotations

from typing import Any

from modelport.signature.schema import Signature

_MESSAGE = {
    "type": "object",
    "properties": {
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
        "name": {"type": "string"},
        "tool_calls": {"type": "array", "items": {"type": "object"}},
        "tool_call_id": {"type": "string"},
    },
    "required": ["role"],
}
_SAMPLING = {
    "temperature": {"type": "number"},
    "top_p": {"type": "number"},
    "top_k": {"type": "integer"},
    "max_tokens": {"type": "integer"},
    "max_completion_tokens": {"type": "integer"},
    "stop": {"type": "array", "items": {"type": "string"}},
    "n": {"type": "integer"},
    "seed": {"type": "integer"},
    "presence_penalty": {"type": "number"},
    "frequency_penalty": {"type": "number"},
    "stream": {"type": "boolean"},
    "custom_inputs": {"type": "object"},
}
_USAGE = {
    "type": "object",
    "properties": {
        "prompt_tokens": {"type": "integer"},
        "completion_tokens": {"type": "integer"},
        "total_tokens": {"type": "integer"},
    },
    "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
}


def _response(choice_field: str, choice_schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A completion object whose choices each hold ``choice_field`` (``message`` or ``text``)."""
    choice = {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            choice_field: choice_schema,
            "finish_reason": {"type": "string"},
        },
        "required": ["index", choice_field, "finish_reason"],
    }
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string"},
            "created": {"type": "integer"},
            "model": {"type": "string"},
            "choices": {"type": "array", "items": choice},
            "usage": _USAGE,
            **extra,
        },
        "required": ["id", "object", "created", "model", "choices"],
    }


def chat_signature() -> Signature:
    """The signature every ``llm/v1/chat`` model gets: OpenAI chat request in, completion out."""
    inputs = {
        "type": "object",
        "properties": {
            "messages": {"type": "array", "items": _MESSAGE},
            "tools": {"type": "array", "items": {"type": "object"}},
            **_SAMPLING,
        },
        "required": ["messages"],
    }
    outputs = _response("message", _MESSAGE, custom_outputs={"type": "object"})
    return Signature(inputs=inputs, outputs=outputs)


def completions_signature() -> Signature:
    """The signature every ``llm/v1/completions`` model gets."""
    prompt = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    inputs = {
        "type": "object",
        "properties": {"prompt": prompt, **_SAMPLING},
        "required": ["prompt"],
    }
    outputs = _response("text", {"type": "string"})
    return Signature(inputs=inputs, outputs=outputs)
