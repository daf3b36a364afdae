"""Rendering OpenAI messages (and tools) through the tokenizer's chat template."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from modelport.errors import InvalidRequestError, UnsupportedFeatureError
from modelport.types import ChatMessage


def template_source(tokenizer: Any, with_tools: bool) -> str | None:
    """The chat template's Jinja source (the ``tool_use`` one for tools, when it is named)."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # named templates: transformers picks "tool_use" for tools
        if with_tools and "tool_use" in template:
            return str(template["tool_use"])
        return str(template.get("default") or next(iter(template.values()), "")) or None
    return str(template) if template else None


@lru_cache(maxsize=16)
def _template_variables(source: str) -> frozenset[str]:
    import jinja2
    from jinja2 import meta

    try:
        parsed = jinja2.Environment().parse(source)
    except jinja2.TemplateSyntaxError:
        return frozenset()
    return frozenset(meta.find_undeclared_variables(parsed))


def template_accepts_tools(tokenizer: Any) -> bool:
    """Whether the chat template reads a ``tools`` variable at all."""
    source = template_source(tokenizer, with_tools=True)
    return source is not None and "tools" in _template_variables(source)


def _content(message: ChatMessage, index: int) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    unsupported = sorted({part.type for part in message.content if part.type != "text"})
    if unsupported:
        raise UnsupportedFeatureError(
            f"messages[{index}] has content parts of type {', '.join(unsupported)}; this model "
            "takes text only (parts of type 'text')",
            param=f"messages[{index}].content",
        )
    return message.text


def _arguments(raw: str) -> Any:
    # templates usually iterate over (or dump) the arguments: give them the parsed object
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def message_for_template(message: ChatMessage, index: int) -> dict[str, Any]:
    """One OpenAI message as the dict chat templates expect."""
    role = "system" if message.role == "developer" else message.role
    rendered: dict[str, Any] = {"role": role, "content": _content(message, index)}
    if message.name is not None:
        rendered["name"] = message.name
    if message.tool_calls:
        rendered["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.function.name,
                    "arguments": _arguments(call.function.arguments),
                },
            }
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        rendered["tool_call_id"] = message.tool_call_id
    return rendered


def render_chat(
    tokenizer: Any,
    messages: Sequence[ChatMessage],
    tools: list[dict[str, Any]] | None = None,
) -> list[int]:
    """The prompt's token ids: the messages (and ``tools``, for a template that takes them)
    through the chat template, generation prompt added."""
    import jinja2

    conversation = [message_for_template(m, i) for i, m in enumerate(messages)]
    try:
        text = tokenizer.apply_chat_template(
            conversation, tools=tools, add_generation_prompt=True, tokenize=False
        )
    except jinja2.TemplateError as exc:
        # templates reject conversations they cannot render (e.g. roles that do not alternate)
        raise InvalidRequestError(
            f"The model's chat template cannot render these messages: {exc}", param="messages"
        ) from None
    except ValueError as exc:
        raise InvalidRequestError(
            f"The model's chat template cannot be applied: {exc}", param="messages"
        ) from None
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids


def encode_prompt(tokenizer: Any, prompt: str) -> list[int]:
    """A plain-text prompt's token ids, with the tokenizer's usual special tokens (e.g. BOS)."""
    ids: list[int] = tokenizer(prompt)["input_ids"]
    if not ids:
        raise InvalidRequestError("The prompt is empty: give at least one token", param="prompt")
    return ids
