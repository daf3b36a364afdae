from __future__ import annotations

from typing import Any

import pytest

from modelport.errors import InvalidRequestError, UnsupportedFeatureError
from modelport.flavors.transformers.template import (
    encode_prompt,
    message_for_template,
    render_chat,
    template_accepts_tools,
)
from modelport.types import ChatMessage, ChatParams

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
TOOL_TEMPLATE = (
    "{% if tools %}<tools>{{ tools | tojson }}</tools>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _messages(*pairs: tuple[str, str]) -> list[ChatMessage]:
    return [ChatMessage(role=role, content=content) for role, content in pairs]  # type: ignore[arg-type]


@pytest.fixture
def tokenizer(tiny_llama: tuple[Any, Any]) -> Any:
    return tiny_llama[1]


@pytest.fixture
def tool_tokenizer(tiny_llama_folder: Any) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_folder)
    tokenizer.chat_template = TOOL_TEMPLATE
    return tokenizer


def test_render_chat_uses_the_template_and_adds_the_generation_prompt(tokenizer: Any) -> None:
    ids = render_chat(tokenizer, _messages(("user", "Hi there")))
    text = tokenizer.decode(ids)
    assert text.endswith("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n")
    # the demo template adds its default system prompt when none is given
    assert text.startswith("<|im_start|>system\n")
    # the special tokens are single ids, not spelled out
    assert ids.count(tokenizer.convert_tokens_to_ids("<|im_start|>")) == 3


def test_developer_role_is_rendered_as_system(tokenizer: Any) -> None:
    ids = render_chat(tokenizer, _messages(("developer", "Be brief."), ("user", "Hi")))
    assert tokenizer.decode(ids).startswith("<|im_start|>system\nBe brief.<|im_end|>")


def test_text_content_parts_are_joined(tokenizer: Any) -> None:
    message = ChatMessage.parse(
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "you"}],
        }
    )
    assert message_for_template(message, 0)["content"] == "Hello you"


def test_image_parts_are_refused_naming_the_message(tokenizer: Any) -> None:
    message = ChatMessage.parse(
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
    )
    with pytest.raises(UnsupportedFeatureError, match=r"messages\[0\].*image_url") as info:
        render_chat(tokenizer, [message])
    assert info.value.param == "messages[0].content"


def test_assistant_tool_calls_get_parsed_arguments() -> None:
    message = ChatMessage.parse(
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "call_1", "function": {"name": "f", "arguments": '{"city": "Paris"}'}}
            ],
        }
    )
    rendered = message_for_template(message, 0)
    assert rendered["content"] == ""
    assert rendered["tool_calls"][0]["function"] == {"name": "f", "arguments": {"city": "Paris"}}


def test_tools_reach_a_template_that_takes_them(tool_tokenizer: Any) -> None:
    assert template_accepts_tools(tool_tokenizer)
    ids = render_chat(
        tool_tokenizer,
        _messages(("user", "Weather?")),
        [tool.to_dict() for tool in ChatParams(tools=TOOLS).tools or []],
    )
    text = tool_tokenizer.decode(ids)
    assert text.startswith("<tools>")
    assert '"get_weather"' in text


def test_a_template_error_becomes_an_invalid_request(tool_tokenizer: Any) -> None:
    tool_tokenizer.chat_template = (
        "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}{% endif %}"
        "{{ messages[0]['content'] }}"
    )
    with pytest.raises(InvalidRequestError, match="first must be user"):
        render_chat(tool_tokenizer, _messages(("system", "x"), ("user", "y")))


def test_encode_prompt_refuses_an_empty_prompt(tokenizer: Any) -> None:
    assert encode_prompt(tokenizer, "Hello") == tokenizer("Hello")["input_ids"]
    with pytest.raises(InvalidRequestError, match="empty"):
        encode_prompt(tokenizer, "")
