"""Request ids, CORS, draining."""

from __future__ import annotations

import json
import socket
import time

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


def _raw_request(url: str, body_length: int) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {body_length}\r\n\r\n".encode()
    )
    return sock


def test_a_trickled_body_gets_408_and_its_connection_closed(
    serve, packages: dict[str, str]
) -> None:
    server = serve({"echo": packages["echo"]}, body_timeout=1.0)
    sock = _raw_request(server.url, 1000)
    started = time.monotonic()
    answer = b""
    with sock:
        for _ in range(40):  # one byte every 0.1 s: the body would take 100 s
            try:
                sock.sendall(b" ")
            except OSError:  # the server closed the connection
                break
            time.sleep(0.1)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            raise AssertionError(f"the connection stayed open; got {answer!r}") from None
    took = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    error = json.loads(body)["error"]
    assert error["code"] == "body_timeout" and "--body-timeout" in error["message"]
    assert took < 4


def test_the_body_timeout_bounds_the_body_only(serve, packages: dict[str, str]) -> None:
    server = serve({"echo": packages["echo"]}, body_timeout=0.5)
    body = {"messages": [{"role": "user", "content": "a b c"}], "custom_inputs": {"delay": 0.4}}
    reply = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=30)
    assert reply.status_code == 200  # 1.2 s of work after a body sent at once
    assert reply.json()["choices"][0]["message"]["content"] == "a b c"
