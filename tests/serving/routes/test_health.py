"""/ping, /health (loading → ready), /version, /metrics, /docs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

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


def test_metrics_names(http: httpx.Client) -> None:
    http.post(
        "/v1/chat/completions",
        json={"model": "echo", "messages": [{"role": "user", "content": "a b c"}]},
    )
    with http.stream(
        "POST",
        "/v1/chat/completions",
        json={"model": "echo", "messages": [{"role": "user", "content": "a"}], "stream": True},
    ) as reply:
        reply.read()
    text = http.get("/metrics").text
    for name in (
        "modelport_http_requests_total",
        "modelport_http_request_duration_seconds_bucket",
        "modelport_time_to_first_token_seconds_bucket",
        "modelport_tokens_generated_total",
        "modelport_prompt_tokens_total",
        "modelport_requests_in_flight",
        "modelport_queue_depth",
    ):
        assert name in text, name
    assert (
        'modelport_http_requests_total{method="POST",route="/v1/chat/completions",status="200"}'
        in text
    )
    generated = [
        line
        for line in text.splitlines()
        if line.startswith('modelport_tokens_generated_total{model="echo"}')
    ]
    assert generated and float(generated[0].split()[-1]) >= 4  # 3 words, then 1 streamed
