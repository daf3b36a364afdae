"""Bad input of every kind → the right status and the OpenAI envelope; the server stays up."""

from __future__ import annotations

import httpx
import pytest

MSG = [{"role": "user", "content": "hi"}]
JSON = {"Content-Type": "application/json"}

BAD_REQUESTS = [
    # (what, path, raw body, headers, status, param)
    ("not JSON", "/v1/chat/completions", b"{not json", JSON, 400, None),
    ("empty body", "/v1/chat/completions", b"", JSON, 400, None),
    ("JSON array", "/v1/chat/completions", b"[1, 2]", JSON, 400, None),
    ("invalid UTF-8", "/v1/chat/completions", b'{"messages": "\xff\xfe"}', JSON, 400, None),
    ("NaN", "/v1/chat/completions", b'{"messages": [], "temperature": NaN}', JSON, 400, None),
    (
        "wrong content type",
        "/v1/chat/completions",
        b"{}",
        {"Content-Type": "text/plain"},
        400,
        None,
    ),
    (
        "form body",
        "/v1/chat/completions",
        b"a=1",
        {"Content-Type": "application/x-www-form-urlencoded"},
        400,
        None,
    ),
]

BAD_BODIES = [
    ("no messages", {"model": "echo"}, 400, "messages"),
    ("empty messages", {"model": "echo", "messages": []}, 400, "messages"),
    ("messages not a list", {"model": "echo", "messages": "hi"}, 400, "messages"),
    (
        "bad role",
        {"model": "echo", "messages": [{"role": "wizard", "content": "x"}]},
        400,
        "messages[0].role",
    ),
    (
        "content of wrong type",
        {"model": "echo", "messages": [{"role": "user", "content": 5}]},
        400,
        "messages[0].content",
    ),
    (
        "negative max_tokens",
        {"model": "echo", "messages": MSG, "max_tokens": -1},
        400,
        "max_tokens",
    ),
    ("n = 0", {"model": "echo", "messages": MSG, "n": 0}, 400, "n"),
    (
        "temperature as text",
        {"model": "echo", "messages": MSG, "temperature": "hot"},
        400,
        "temperature",
    ),
    ("top_p out of range", {"model": "echo", "messages": MSG, "top_p": 1.5}, 400, "top_p"),
    (
        "too many stops",
        {"model": "echo", "messages": MSG, "stop": ["a", "b", "c", "d", "e"]},
        400,
        "stop",
    ),
    ("unknown model", {"model": "nope", "messages": MSG}, 404, "model"),
    ("model not a string", {"model": 5, "messages": MSG}, 400, "model"),
    ("stream not a bool", {"model": "echo", "messages": MSG, "stream": [True]}, 400, "stream"),
]


def _check_envelope(reply: httpx.Response, status: int, param: str | None) -> None:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] and isinstance(error["type"], str)
    if param is not None:
        assert error["param"] == param
    assert reply.headers["x-request-id"]


@pytest.mark.parametrize(
    ("what", "path", "body", "headers", "status", "param"),
    BAD_REQUESTS,
    ids=[r[0] for r in BAD_REQUESTS],
)
def test_bad_raw_request(
    http: httpx.Client,
    what: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    param: str | None,
) -> None:
    _check_envelope(http.post(path, content=body, headers=headers), status, param)
    assert http.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("what", "body", "status", "param"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
def test_bad_chat_body(http: httpx.Client, what: str, body: dict, status: int, param: str) -> None:
    _check_envelope(http.post("/v1/chat/completions", json=body), status, param)
    assert http.get("/health").status_code == 200


def test_unknown_route_is_a_404_envelope(http: httpx.Client) -> None:
    reply = http.get("/v2/nothing")
    _check_envelope(reply, 404, None)
    assert reply.json()["error"]["type"] == "not_found_error"


def test_wrong_method_is_a_405_envelope(http: httpx.Client) -> None:
    _check_envelope(http.get("/v1/chat/completions"), 405, None)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/chat/completions", {"POST"}),
        ("DELETE", "/invocations", {"POST"}),
        ("POST", "/ping", {"GET"}),
        ("PUT", "/v1/models/echo", {"GET"}),
    ],
)
def test_a_405_says_which_methods_are_allowed(
    http: httpx.Client, method: str, path: str, allowed: set[str]
) -> None:
    reply = http.request(method, path)
    assert reply.status_code == 405
    assert {m.strip() for m in reply.headers["allow"].split(",")} == allowed


def test_several_models_need_a_name(http: httpx.Client) -> None:
    reply = http.post("/v1/chat/completions", json={"messages": MSG})
    _check_envelope(reply, 404, "model")
    assert "echo" in reply.json()["error"]["message"]


def test_body_too_large_is_413(serve, packages: dict[str, str]) -> None:
    server = serve({"echo": packages["echo"]}, max_body_size=1000)
    big = {"messages": [{"role": "user", "content": "x" * 2000}]}
    with httpx.Client(base_url=server.url) as client:
        _check_envelope(client.post("/v1/chat/completions", json=big), 413, None)

        def chunks():  # no Content-Length: the limit still holds while reading
            yield b'{"messages": [{"role": "user", "content": "'
            for _ in range(10):
                yield b"x" * 200
            yield b'"}]}'

        reply = client.post("/v1/chat/completions", content=chunks(), headers=JSON)
        _check_envelope(reply, 413, None)
        small = client.post("/v1/chat/completions", json={"messages": MSG})
        assert small.status_code == 200
