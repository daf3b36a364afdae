"""The uvicorn runner: sockets and draining (the signal path runs in tests/cli/test_serve.py)."""

from __future__ import annotations

import time

import httpx
import pytest

from modelport.errors import InvalidRequestError
from modelport.serving.server import bind_socket


def test_port_zero_picks_a_free_port_and_a_taken_one_is_refused() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0
        with pytest.raises(InvalidRequestError, match=f"127.0.0.1:{port}"):
            bind_socket("127.0.0.1", port)
    finally:
        sock.close()


def test_drain_waits_for_requests_under_way_then_stops(serve, packages: dict[str, str]) -> None:
    server = serve({"echo": packages["echo"]})
    server.server.drain_timeout = 10
    body = {
        "messages": [{"role": "user", "content": "a b c d"}],
        "custom_inputs": {"delay": 0.1},
        "stream": True,
    }
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{server.v1}/chat/completions", json=body) as reply,
    ):
        lines = reply.iter_lines()
        next(lines)  # the stream is under way
        server.server.begin_drain()
        assert client.get(f"{server.url}/health").status_code == 503
        rest = list(lines)
    assert "data: [DONE]" in rest  # it ran to its end
    deadline = time.monotonic() + 5
    while not server.server.should_exit:
        assert time.monotonic() < deadline, "the server did not stop after draining"
        time.sleep(0.05)
