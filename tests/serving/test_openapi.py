"""The OpenAPI document says what the server does: the bounds of the request bodies.

The same bodies go to the validators and to the document's schemas, which must agree on each.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from modelport.errors import InvalidRequestError
from modelport.serving import ServerConfig, create_app
from modelport.types import ChatCompletionRequest, CompletionRequest

USER = {"role": "user", "content": "hi"}


def _document(**config: Any) -> dict[str, Any]:
    """The document of a server with these settings (built without starting it)."""
    document: dict[str, Any] = create_app(
        ServerConfig(models={"echo": "unused"}, **config)
    ).openapi()
    return document


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return _document(api_key="k")


def _valid(document: dict[str, Any], schema: dict[str, Any], body: Any) -> bool:
    """Whether ``body`` matches ``schema``, whose references point into ``document``."""
    rooted = {**schema, "components": document["components"]}
    return bool(jsonschema_rs.validator_for(rooted).is_valid(body))


def _body_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def _accepted(parse: Any, body: dict[str, Any]) -> bool:
    try:
        parse(body)
    except InvalidRequestError:
        return False
    return True


CHAT_BODIES = [
    ("one message", {"messages": [USER]}),
    ("no message", {"messages": []}),
    ("n at its bounds", {"messages": [USER], "n": 128}),
    ("n of 0", {"messages": [USER], "n": 0}),
    ("n over 128", {"messages": [USER], "n": 129}),
    ("temperature at its bounds", {"messages": [USER], "temperature": 2}),
    ("temperature below 0", {"messages": [USER], "temperature": -0.1}),
    ("temperature over 2", {"messages": [USER], "temperature": 2.1}),
    ("max_tokens of 1", {"messages": [USER], "max_tokens": 1}),
    ("max_tokens of 0", {"messages": [USER], "max_tokens": 0}),
    ("max_completion_tokens of 0", {"messages": [USER], "max_completion_tokens": 0}),
    ("top_p of 1", {"messages": [USER], "top_p": 1}),
    ("top_p of 0", {"messages": [USER], "top_p": 0}),
    ("top_logprobs over 20", {"messages": [USER], "top_logprobs": 21}),
    ("presence_penalty below -2", {"messages": [USER], "presence_penalty": -2.5}),
    ("top_k of 0", {"messages": [USER], "top_k": 0}),
    ("four stop sequences", {"messages": [USER], "stop": ["a", "b", "c", "d"]}),
    ("five stop sequences", {"messages": [USER], "stop": ["a", "b", "c", "d", "e"]}),
    ("an empty stop string", {"messages": [USER], "stop": ""}),
    ("an empty stop sequence", {"messages": [USER], "stop": ["a", ""]}),
    ("a user message without content", {"messages": [{"role": "user"}]}),
    ("a system message with null content", {"messages": [{"role": "system", "content": None}]}),
    (
        "a tool message with its call id",
        {"messages": [{"role": "tool", "content": "42", "tool_call_id": "call-1"}]},
    ),
    ("a tool message without a call id", {"messages": [{"role": "tool", "content": "42"}]}),
    (
        "a tool message with an empty call id",
        {"messages": [{"role": "tool", "content": "42", "tool_call_id": ""}]},
    ),
    ("an empty assistant message", {"messages": [USER, {"role": "assistant"}]}),
    (
        "an assistant message with no tool calls",
        {"messages": [USER, {"role": "assistant", "tool_calls": []}]},
    ),
    (
        "an assistant message with a refusal",
        {"messages": [USER, {"role": "assistant", "refusal": "no"}]},
    ),
    (
        "an assistant message with a tool call",
        {
            "messages": [
                USER,
                {"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]},
            ]
        },
    ),
    ("an unknown field", {"messages": [USER], "logit_bias": {"1": 2}}),
]

COMPLETION_BODIES = [
    ("a prompt", {"prompt": "hi"}),
    ("an empty prompt", {"prompt": ""}),
    ("a list of prompts", {"prompt": ["a", "b"]}),
    ("an empty list of prompts", {"prompt": []}),
    ("logprobs over 5", {"prompt": "hi", "logprobs": 6}),
    ("max_tokens of 0", {"prompt": "hi", "max_tokens": 0}),
    ("five stop sequences", {"prompt": "hi", "stop": ["a", "b", "c", "d", "e"]}),
]


@pytest.mark.parametrize(("what", "body"), CHAT_BODIES, ids=[b[0] for b in CHAT_BODIES])
def test_the_chat_schema_takes_what_the_validator_takes(
    document: dict[str, Any], what: str, body: dict[str, Any]
) -> None:
    schema = _body_schema(document, "/v1/chat/completions")
    assert _valid(document, schema, body) == _accepted(ChatCompletionRequest.parse, body)


@pytest.mark.parametrize(("what", "body"), COMPLETION_BODIES, ids=[b[0] for b in COMPLETION_BODIES])
def test_the_completions_schema_takes_what_the_validator_takes(
    document: dict[str, Any], what: str, body: dict[str, Any]
) -> None:
    schema = _body_schema(document, "/v1/completions")
    assert _valid(document, schema, body) == _accepted(CompletionRequest.parse, body)


def test_messages_needs_at_least_one_message(document: dict[str, Any]) -> None:
    messages = document["components"]["schemas"]["ChatCompletionRequest"]["properties"]
    assert messages["messages"]["minItems"] == 1
