"""Request ids, CORS, draining."""

from __future__ import annotations

import httpx

MSG = [{"role": "user", "content": "hi"}]


def test_every_response_carries_a_request_id(http: httpx.Client) -> None:
    ids = set()
    for reply in (
        http.get("/ping"),
        http.get("/nothing"),
        http.post("/v1/chat/completions", content=b"{"),
        http.post("/v1/chat/completions", json={"model": "echo", "messages": MSG}),
    ):
        ids.add(reply.headers["x-request-id"])
    assert len(ids) == 4


def test_a_clients_request_id_is_kept_if_sane(http: httpx.Client) -> None:
    assert http.get("/ping", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == (
        "abc-123"
    )
    replaced = http.get("/ping", headers={"X-Request-Id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


def test_cors(serve, packages: dict[str, str]) -> None:
    server = serve({"echo": packages["echo"]}, cors_origins=["https://app.example"], api_key="k")
    preflight = httpx.options(
        f"{server.v1}/chat/completions",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    reply = httpx.post(
        f"{server.v1}/chat/completions",
        json={"messages": MSG},
        headers={"Origin": "https://app.example", "Authorization": "Bearer k"},
    )
    assert reply.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.options(
        f"{server.v1}/chat/completions",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers


def test_draining_server_answers_503_but_stays_observable(serve, packages: dict[str, str]) -> None:
    server = serve({"echo": packages["echo"]})
    server.app.state.modelport.state.draining = True
    reply = httpx.post(f"{server.v1}/chat/completions", json={"messages": MSG})
    assert reply.status_code == 503
    assert reply.json()["error"]["type"] == "service_unavailable"
    assert httpx.get(f"{server.url}/health").status_code == 503
    assert httpx.get(f"{server.url}/ping").status_code == 200
    assert httpx.get(f"{server.url}/metrics").status_code == 200
