"""/ping, /health (loading → ready), /version, /metrics, /docs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

import modelport
from modelport.serving import ServerConfig

from ..conftest import MODELS, start_server, stop_server


def test_ping_version_docs(http: httpx.Client) -> None:
    assert http.get("/ping").status_code == 200
    assert http.get("/version").json() == {"version": modelport.__version__}
    assert http.get("/docs").status_code == 200
    schema = http.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/completions", "/v1/models", "/invocations"} <= set(
        schema["paths"]
    )
    body = schema["paths"]["/v1/chat/completions"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref.rsplit("/", 1)[-1] in schema["components"]["schemas"]
    assert "messages" in schema["components"]["schemas"]["ChatCompletionRequest"]["properties"]


def test_health_is_503_until_the_models_are_loaded(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.write_text("open")
    modelport.save_model(
        tmp_path / "gated", python_model=MODELS / "gated_chat.py", model_config={"gate": str(gate)}
    )
    gate.unlink()
    running, thread = start_server(
        ServerConfig(models={"gated": str(tmp_path / "gated")}), wait_ready=False
    )
    try:
        health = httpx.get(f"{running.url}/health")
        assert health.status_code == 503 and health.json()["status"] == "loading"
        chat = httpx.post(
            f"{running.v1}/chat/completions", json={"messages": [{"role": "user", "content": "x"}]}
        )
        assert chat.status_code == 503
        assert httpx.get(f"{running.v1}/models").status_code == 503
        gate.write_text("open")
        deadline = time.monotonic() + 10
        while httpx.get(f"{running.url}/health").status_code != 200:
            assert time.monotonic() < deadline, "never became ready"
            time.sleep(0.05)
        assert httpx.get(f"{running.url}/health").json() == {"status": "ok", "models": ["gated"]}
    finally:
        stop_server(running, thread)


def _samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """/metrics as ``(sample name, labels) → value``."""
    text = httpx.get(f"{url}/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_the_requests_and_tokens_served(serve, packages: dict[str, str]) -> None:
    server = serve({"echo": packages["echo"]})
    chat = f"{server.v1}/chat/completions"
    # The stream goes first: the server counts a request after its last byte is sent, and a
    # stream can yield to the event loop in between; once the next replies came, it is counted.
    with httpx.stream(
        "POST", chat, json={"messages": [{"role": "user", "content": "a"}], "stream": True}
    ) as reply:
        assert reply.status_code == 200
        reply.read()
    repeated = {"messages": [{"role": "user", "content": "a b c"}], "custom_inputs": {"repeat": 2}}
    assert httpx.post(chat, json=repeated).json()["usage"]["completion_tokens"] == 6
    assert httpx.post(chat, json={"messages": []}).status_code == 400
    samples = _samples(server.url)
    route = {("route", "/v1/chat/completions"), ("method", "POST")}
    echo = frozenset({("model", "echo")})
    assert samples[("modelport_http_requests_total", frozenset({*route, ("status", "200")}))] == 2
    assert samples[("modelport_http_requests_total", frozenset({*route, ("status", "400")}))] == 1
    assert samples[("modelport_http_request_duration_seconds_count", frozenset(route))] == 3
    assert samples[("modelport_time_to_first_token_seconds_count", echo)] == 1  # the stream's
    assert samples[("modelport_prompt_tokens_total", echo)] == 1 + 3
    assert samples[("modelport_tokens_generated_total", echo)] == 1 + 6
    assert samples[("modelport_requests_in_flight", frozenset())] == 0
    assert samples[("modelport_queue_depth", frozenset())] == 0
