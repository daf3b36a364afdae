"""Schemathesis against a real server: the OpenAPI document says what the server does.

Schemathesis builds its tests when the module is collected, from the document of an app with
the fixture's configuration (building the document starts nothing); each test then sends its
cases to the real server, whose ``/openapi.json`` is first checked to be that same document.
(``schemathesis.pytest.from_fixture`` would read the document from the server instead, but it
does not run under pytest 9.2: it sets ``Node._nodeid``, which pytest no longer has.)
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import settings
from schemathesis.specs.openapi import checks

from modelport.serving import ServerConfig, create_app

from .conftest import RunningServer, start_server, stop_server

API_KEY = "conformance-key"
CHECKS = [
    schemathesis.checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    # the coverage phase sends methods a path does not take: 405 with an Allow header
    checks.unsupported_method,
    checks.allow_header_conformance,
    # Left out: negative_data_rejection, as pydantic's lax mode takes "2" or false for an
    # integer by design (OpenAI's SDKs never send those, other clients may); and
    # positive_data_acceptance everywhere but chat completions (see test_echo_server_conforms).
]
CONFORMANCE = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
)


def _document(**config: Any) -> dict[str, Any]:
    """The OpenAPI document of a server with these settings (no model is loaded for it)."""
    document: dict[str, Any] = create_app(
        ServerConfig(models={"echo": "unused"}, **config)
    ).openapi()
    return document


def _schema(document: dict[str, Any], **config: Any) -> schemathesis.BaseSchema:
    options = {
        "seed": 0,
        "generation": {"deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},  # no links between operations to follow
        **config,
    }
    return schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(options))


ECHO_DOCUMENT = _document(api_key=API_KEY)
echo_schema = _schema(ECHO_DOCUMENT, headers={"Authorization": f"Bearer {API_KEY}"})


@pytest.fixture(scope="module")
def echo_server(packages: dict[str, str]) -> Iterator[RunningServer]:
    running, thread = start_server(ServerConfig(models={"echo": packages["echo"]}, api_key=API_KEY))
    assert httpx.get(f"{running.url}/openapi.json").json() == ECHO_DOCUMENT
    yield running
    stop_server(running, thread)


@echo_schema.parametrize()
@CONFORMANCE
def test_echo_server_conforms(case: schemathesis.Case, echo_server: RunningServer) -> None:
    extra = []
    # The other two model routes refuse some schema-valid bodies for the served model's task:
    # a chat model answers /v1/completions with a 400, and takes one of /invocations' formats.
    if case.operation.path == "/v1/chat/completions":
        extra.append(checks.positive_data_acceptance)
    case.call_and_validate(base_url=echo_server.url, checks=CHECKS + extra)


def _within_demo_budget(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every chat request asking for at most 4 tokens and 2 choices (the
    demo model generates on the CPU, and a request without a limit may run to its context)."""
    narrowed = copy.deepcopy(document)
    chat = narrowed["components"]["schemas"]["ChatCompletionRequest"]
    for limit in ("max_tokens", "max_completion_tokens"):
        chat["properties"][limit] = {"type": "integer", "minimum": 1, "maximum": 4}
    chat["required"] = [*chat["required"], "max_tokens"]
    chat["properties"]["n"]["maximum"] = 2
    # a chat model's /invocations takes the chat request (the other formats are a 400)
    invocations = narrowed["paths"]["/invocations"]["post"]["requestBody"]["content"]
    invocations["application/json"]["schema"] = {
        "$ref": "#/components/schemas/ChatCompletionRequest"
    }
    return narrowed


DEMO_DOCUMENT = _document()
demo_schema = _schema(
    _within_demo_budget(DEMO_DOCUMENT),
    # valid bodies only, which the model runs on (the echo server's run sends the invalid ones)
    generation={"deterministic": True, "database": "none", "mode": "positive"},
).include(path=["/v1/chat/completions", "/invocations"])


@pytest.fixture(scope="module")
def demo_target(demo_server: RunningServer) -> RunningServer:
    assert httpx.get(f"{demo_server.url}/openapi.json").json() == DEMO_DOCUMENT
    return demo_server


@pytest.mark.slow
@demo_schema.parametrize()
@settings(CONFORMANCE, max_examples=30)  # each case generates: fewer than on the echo server
def test_demo_model_server_conforms(case: schemathesis.Case, demo_target: RunningServer) -> None:
    case.call_and_validate(base_url=demo_target.url, checks=CHECKS)
