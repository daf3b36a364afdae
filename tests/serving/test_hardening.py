"""Hostile and careless input over HTTP: a 4xx naming the field, never a 5xx, never harm to others."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from .conftest import RunningServer

USER = {"role": "user", "content": "Hi"}
CHAT = "/v1/chat/completions"


def chat_body(**fields: Any) -> str:
    return json.dumps({"model": "echo", "messages": [USER], "max_tokens": 4, **fields})


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# (path, raw body, param): each answered 500 before, by the parser, the engine or the tokenizer
HOSTILE_BODIES = [
    (CHAT, '{"messages": ' + nested(100_000) + "}", None),
    ("/invocations", '{"inputs": ' + nested(100_000) + "}", None),
    (CHAT, '{"messages": [{"role": "user", "content": ' + nested(900) + "}]}", "messages"),
    (
        CHAT,
        '{"model": "echo", "messages": [{"role": "user", "content": "a\\ud800b"}]}',
        "messages[0].content",
    ),
    (
        "/invocations",
        '{"messages": [{"role": "user", "content": "\\udfff"}]}',
        "messages[0].content",
    ),
    (
        CHAT,
        '{"model": "echo", "messages": [{"role": "user", "content": "Hi"}], "seed": '
        + "7" * 5000
        + "}",
        "seed",
    ),
    (CHAT, chat_body(seed=1180591620717411303424), "seed"),
    (CHAT, chat_body(top_k=10**30), "top_k"),
    (CHAT, chat_body(logit_bias={"5": 1000}), "logit_bias"),
    (CHAT, chat_body(stop="x" * 100_000), "stop"),
    (
        CHAT,
        '{"model": "echo", "messages": [{"role": "user", "content": "Hi"}], "temperature": 1e999}',
        "temperature",
    ),
]


@pytest.mark.parametrize(("path", "body", "param"), HOSTILE_BODIES)
def test_hostile_bodies_get_a_400_naming_the_field(
    http: httpx.Client, path: str, body: str, param: str | None
) -> None:
    reply = http.post(path, content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert "Traceback" not in error["message"]


# --- poison beside victims: the real demo model, three streams running --------------------------

# Each of these made the engine fail every stream beside it, ran on for minutes, or reached the
# model unchecked; each must now be answered 4xx while the victims stream on to [DONE].
POISONS: list[tuple[str, dict[str, Any]]] = [
    ("huge seed", {"seed": 2**70, "temperature": 1.0}),
    ("huge top_k", {"top_k": 10**30}),
    ("huge max_tokens", {"max_tokens": 10**12}),
    ("max_tokens over the context", {"max_tokens": 8192}),
    ("logit_bias out of range", {"logit_bias": {"42": 500}}),
    ("logit_bias beyond the vocabulary", {"logit_bias": {"99999999": 5}}),
    ("giant stop string", {"stop": "x" * 200_000}),
    ("huge n", {"n": 10**6}),
    ("n over the batch size", {"n": 100}),
    ("huge temperature", {"temperature": 1e300}),
]


class Victim(threading.Thread):
    """A stream read to its end in the background: its events, its [DONE], when it ended."""

    def __init__(self, url: str, started: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.url, self.started = url, started
        self.chunks: list[dict[str, Any]] = []
        self.done = False
        self.ended_at = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        body = {
            "model": "demo",
            "messages": [{"role": "user", "content": "Count from one to fifty in words."}],
            "max_tokens": 48,
            "temperature": 0,
            "stream": True,
        }
        try:
            with httpx.stream(
                "POST", f"{self.url}/v1/chat/completions", json=body, timeout=120
            ) as r:
                assert r.status_code == 200
                for line in r.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    if line == "data: [DONE]":
                        self.done = True
                        continue
                    self.chunks.append(json.loads(line[len("data: ") :]))
                    if len(self.chunks) == 2:  # role chunk, then the first text: running
                        self.started.wait(timeout=60)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.ended_at = time.monotonic()


@pytest.mark.slow
def test_poison_beside_victims_harms_no_one(demo_server: RunningServer) -> None:
    started = threading.Barrier(4)
    victims = [Victim(demo_server.url, started) for _ in range(3)]
    for victim in victims:
        victim.start()
    started.wait(timeout=60)  # all three streams are generating

    answered: dict[str, tuple[int, dict[str, Any]]] = {}
    with httpx.Client(base_url=demo_server.url, timeout=60) as client:
        for name, fields in POISONS:
            body = {"model": "demo", "messages": [USER], "max_tokens": 4, **fields}
            for stream in (False, True):
                reply = client.post(CHAT, json={**body, "stream": stream})
                answered[f"{name} (stream={stream})"] = (reply.status_code, reply.json())
    poisons_done = time.monotonic()
    for victim in victims:
        victim.join(timeout=120)

    for name, (status, payload) in answered.items():
        assert 400 <= status < 500, (name, payload)
        assert payload["error"]["param"] in {
            "seed",
            "top_k",
            "max_tokens",
            "logit_bias",
            "stop",
            "n",
            "temperature",
        }, name
    for victim in victims:
        assert victim.error is None, victim.error
        assert victim.done, "a victim's stream ended without [DONE]"
        assert victim.chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
        assert all("error" not in chunk for chunk in victim.chunks)
    # the poison really arrived while the victims were generating
    assert poisons_done < min(victim.ended_at for victim in victims)
