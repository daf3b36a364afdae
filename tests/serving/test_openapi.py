"""The OpenAPI document says what the server does: bounds, bodies, statuses, media types.

The same bodies go to the validators and to the document's schemas, which must agree on each.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from modelport.errors import InvalidRequestError
from modelport.scoring import parse_invocation
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


SCORING_BODIES = [
    ("dataframe_split", {"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}),
    ("dataframe_split without data", {"dataframe_split": {"columns": ["a"]}}),
    ("dataframe_records", {"dataframe_records": [{"a": 1}]}),
    ("dataframe_records of numbers", {"dataframe_records": [1, 2]}),
    ("instances", {"instances": [1, 2]}),
    ("inputs with params", {"inputs": {"text": ["ab"]}, "params": {"scale": 2}}),
    ("inputs streamed", {"inputs": [1], "stream": True}),
    ("params that are not an object", {"inputs": [1], "params": [1]}),
    ("stream that is not a boolean", {"inputs": [1], "stream": "yes"}),
    ("two formats", {"inputs": [1], "instances": [1]}),
    ("an unknown key", {"inputs": [1], "extra": 1}),
    ("no format", {"params": {}}),
    ("nothing", {}),
]


@pytest.mark.parametrize(("what", "body"), SCORING_BODIES, ids=[b[0] for b in SCORING_BODIES])
def test_the_invocations_schema_takes_the_scoring_formats(
    document: dict[str, Any], what: str, body: dict[str, Any]
) -> None:
    """A body that no task takes is refused by the schema; one that some task takes matches."""
    schema = _body_schema(document, "/invocations")
    taken = any(
        _accepted(lambda b, task=task: parse_invocation(b, task), body)
        for task in ("llm/v1/chat", "llm/v1/completions", None)
    )
    assert _valid(document, schema, body) == taken


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [USER], "max_tokens": 8},
        {"messages": [USER], "params": {"max_tokens": 8}},
        {"inputs": {"messages": [USER]}},
        {"prompt": "hi", "max_tokens": 8},
    ],
)
def test_the_invocations_schema_takes_llm_requests(
    document: dict[str, Any], body: dict[str, Any]
) -> None:
    assert _valid(document, _body_schema(document, "/invocations"), body)


def test_the_invocations_schema_refuses_an_empty_object(document: dict[str, Any]) -> None:
    assert not _valid(document, _body_schema(document, "/invocations"), {})


def _responses(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    responses: dict[str, Any] = document["paths"][path][method]["responses"]
    return responses


def _is_error_envelope(answer: dict[str, Any]) -> bool:
    schema = answer["content"]["application/json"]["schema"]
    return bool(schema == {"$ref": "#/components/schemas/ErrorResponse"})


def test_an_unknown_model_id_is_a_documented_404(document: dict[str, Any]) -> None:
    responses = _responses(document, "/v1/models/{model_id}")
    assert _is_error_envelope(responses["404"])
    assert "422" not in responses  # FastAPI's own; the error handlers answer 400


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/v1/chat/completions", {"200", "400", "401", "404", "413", "429", "500", "503", "504"}),
        ("/v1/completions", {"200", "400", "401", "404", "413", "429", "500", "503", "504"}),
        ("/invocations", {"200", "400", "401", "404", "413", "429", "500", "503", "504"}),
        ("/v1/models", {"200", "401", "503"}),
        ("/v1/models/{model_id}", {"200", "400", "401", "404", "503"}),
        ("/version", {"200", "401", "503"}),
        ("/metrics", {"200", "401"}),
        ("/ping", {"200"}),
        ("/health", {"200", "503"}),
    ],
)
def test_each_route_documents_the_statuses_it_answers(
    document: dict[str, Any], path: str, statuses: set[str]
) -> None:
    operation = next(iter(document["paths"][path].values()))
    assert set(operation["responses"]) == statuses
    for status, answer in operation["responses"].items():
        assert "X-Request-Id" in answer["headers"]
        if status.startswith(("4", "5")) and path != "/health":
            assert _is_error_envelope(answer), status
    assert _responses(document, "/v1/chat/completions", "post")["429"]["headers"]["Retry-After"]


def test_without_an_api_key_no_route_documents_a_401() -> None:
    document = _document()
    assert "securitySchemes" not in document["components"]
    for operations in document["paths"].values():
        for operation in operations.values():
            assert "401" not in operation["responses"]
            assert "security" not in operation


def test_the_routes_that_need_the_key_say_so(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "security" in document["paths"]["/v1/chat/completions"]["post"]
    assert "security" not in document["paths"]["/ping"]["get"]


@pytest.mark.parametrize("path", ["/ping", "/metrics"])
def test_text_probes_are_declared_text_plain(document: dict[str, Any], path: str) -> None:
    assert set(_responses(document, path)["200"]["content"]) == {"text/plain"}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/invocations"])
def test_model_routes_declare_their_event_streams(document: dict[str, Any], path: str) -> None:
    content = _responses(document, path, "post")["200"]["content"]
    assert set(content) == {"application/json", "text/event-stream"}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    for ref in _refs(document):
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in document["components"][section], ref
