"""Property test against the server's own OpenAPI schema: whatever a client sends, never a 5xx.

Bodies are built from the request schema's field names, each given either a plausible value or
any JSON at all; every answer must be a success or a 4xx in the OpenAI envelope.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
ROLES = st.sampled_from(["system", "developer", "user", "assistant", "tool", "robot"])
MESSAGE = st.fixed_dictionaries(
    {"role": ROLES}, optional={"content": st.text(max_size=30) | JSON, "tool_call_id": JSON}
)
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "messages": st.lists(MESSAGE, max_size=3),
    "model": st.sampled_from(["echo", "shout", "lengths", "nope"]),
    "max_tokens": st.integers(min_value=-5, max_value=10_000),
    "n": st.integers(min_value=-1, max_value=200),
    "temperature": st.floats(min_value=-1, max_value=3),
    "stop": st.lists(st.text(max_size=4), max_size=6),
    "stream": st.booleans(),
    "prompt": st.text(max_size=20) | st.lists(st.text(max_size=5), max_size=3),
}
# custom_inputs go to the model by design (a model raising on them is a legitimate 500)
SKIPPED = {"custom_inputs"}


@pytest.fixture(scope="module")
def request_fields(shared_server) -> list[str]:
    schema = httpx.get(f"{shared_server.url}/openapi.json").json()["components"]["schemas"]
    fields = set(schema["ChatCompletionRequest"]["properties"])
    fields |= set(schema["CompletionRequest"]["properties"])
    return sorted(fields - SKIPPED)


def _body(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    value_for = {name: PLAUSIBLE.get(name, JSON) | JSON for name in fields}
    return st.lists(st.sampled_from(fields), unique=True, max_size=6).flatmap(
        lambda names: st.fixed_dictionaries({name: value_for[name] for name in names})
    )


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/invocations"])
def test_no_input_gives_a_server_error(shared_server, request_fields: list[str], path: str) -> None:
    extra = st.fixed_dictionaries(
        {},
        optional={
            "inputs": JSON,
            "dataframe_split": JSON,
            "dataframe_records": JSON,
            "instances": JSON,
            "params": JSON,
        },
    )
    bodies = st.tuples(_body(request_fields), extra).map(lambda pair: {**pair[0], **pair[1]})

    with httpx.Client(base_url=shared_server.url, timeout=30) as client:

        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(body=bodies if path == "/invocations" else _body(request_fields))
        def check(body: dict[str, Any]) -> None:
            reply = client.post(
                path, content=json.dumps(body), headers={"Content-Type": "application/json"}
            )
            assert reply.status_code < 500, (body, reply.text)
            if reply.status_code >= 400:
                error = reply.json()["error"]
                assert set(error) == {"message", "type", "param", "code"}

        check()
    assert httpx.get(f"{shared_server.url}/health").status_code == 200
