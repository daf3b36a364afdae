"""Time limits and cancellation: a request past --timeout gets 504 and its generation stops; a
client that leaves mid-stream stops its generation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport import load_model
from modelport.serving.limits import Limiter
from modelport.serving.served import ServedModel
from modelport.serving.service import Runtime, open_stream, respond
from modelport.types import ChatCompletionRequest


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _wait_for(condition: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {limit}s"
        time.sleep(0.02)


def _in_flight(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "modelport_requests_in_flight":
            return float(family.samples[0].value)
    raise AssertionError("no modelport_requests_in_flight in /metrics")


def _words_once_released(url: str, log: Path) -> int:
    """Words the model wrote, once the server released the stream's place: it closes the
    model's stream first, and no step of it runs after that."""
    _wait_for(lambda: _in_flight(url) == 0, "the stream's release")
    return _lines(log)


def _words_once_cancelled(log: Path) -> list[str]:
    """Words the model wrote, once it saw its cancellation (its last line says so)."""
    _wait_for(lambda: log.exists() and log.read_text().endswith("<cancelled>\n"), "the cancel")
    return log.read_text().splitlines()


def _slow_words(log: Path, words: int = 100, delay: float = 0.05) -> dict:
    return {
        "model": "echo",
        "messages": [{"role": "user", "content": "tick"}],
        "custom_inputs": {"delay": delay, "repeat": words, "log": str(log)},
    }


def test_client_leaving_mid_stream_stops_generation(
    serve, packages: dict[str, str], tmp_path: Path
) -> None:
    server = serve({"echo": packages["echo"]})
    log = tmp_path / "words.log"
    body = {**_slow_words(log), "stream": True}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{server.v1}/chat/completions", json=body) as reply,
    ):
        received = 0
        for line in reply.iter_lines():
            if line.startswith("data: "):
                received += 1
            if received == 3:
                break
    produced = _words_once_released(server.url, log)
    assert 3 <= produced < 20  # of 100 words: it stopped within a step or two of leaving


def test_a_slow_sync_model_never_blocks_the_event_loop(shared_server, tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    body = _slow_words(log, words=8, delay=0.25)
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(
            httpx.post, f"{shared_server.v1}/chat/completions", json=body, timeout=30
        )
        _wait_for(lambda: _lines(log) > 0, "the model's first word")
        for _ in range(5):
            assert httpx.get(f"{shared_server.url}/ping").status_code == 200
            assert _lines(log) < 8  # answered while the model is still at work
        assert not slow.done()
        assert slow.result().status_code == 200
    assert _lines(log) == 8


def test_non_streamed_timeout_is_504(serve, packages: dict[str, str], tmp_path: Path) -> None:
    server = serve({"echo": packages["echo"]}, timeout=0.3)
    client = openai.OpenAI(base_url=server.v1, api_key="x", max_retries=0)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as caught:
        body = _slow_words(tmp_path / "a.log", words=100)
        client.chat.completions.create(
            model="echo",
            messages=body["messages"],
            extra_body={"custom_inputs": body["custom_inputs"]},
        )
    assert caught.value.status_code == 504
    assert time.monotonic() - started < 2.5  # the model alone would take 5 s
    assert caught.value.body["type"] == "timeout"  # type: ignore[index]
    client.close()


def test_a_timed_out_sync_call_is_told_to_stop(
    serve, packages: dict[str, str], tmp_path: Path
) -> None:
    server = serve({"echo": packages["echo"]}, timeout=0.3)
    log = tmp_path / "words.log"
    reply = httpx.post(f"{server.v1}/chat/completions", json=_slow_words(log), timeout=30)
    assert reply.status_code == 504
    assert len(_words_once_cancelled(log)) < 20  # of 100


def test_a_client_leaving_a_non_streamed_call_cancels_it(shared_server, tmp_path: Path) -> None:
    log = tmp_path / "words.log"
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{shared_server.v1}/chat/completions", json=_slow_words(log), timeout=0.3)
    assert len(_words_once_cancelled(log)) < 20  # of 100


def test_stream_past_its_timeout_ends_with_a_timeout_event_and_stops(
    serve, packages: dict[str, str], tmp_path: Path
) -> None:
    server = serve({"echo": packages["echo"]}, timeout=0.4)
    log = tmp_path / "words.log"
    body = {**_slow_words(log, words=100), "stream": True}
    reply = httpx.post(f"{server.v1}/chat/completions", json=body, timeout=30)
    assert reply.status_code == 200  # the stream had started
    events = [json.loads(x[6:]) for x in reply.text.splitlines() if x.startswith("data: {")]
    assert events[-1]["error"]["type"] == "timeout"
    assert "data: [DONE]" not in reply.text
    assert _words_once_released(server.url, log) < 20  # of 100


def test_stream_timing_out_before_its_first_chunk_is_504(
    serve, packages: dict[str, str], tmp_path: Path
) -> None:
    server = serve({"echo": packages["echo"]}, timeout=0.2)
    body = {**_slow_words(tmp_path / "a.log", words=3, delay=0.5), "stream": True}
    reply = httpx.post(f"{server.v1}/chat/completions", json=body, timeout=30)
    assert reply.status_code == 504
    assert reply.json()["error"]["code"] == "timeout"


@pytest.mark.anyio
async def test_service_runs_without_a_web_layer(packages: dict[str, str]) -> None:
    loaded = load_model(packages["echo"])
    served = ServedModel("echo", packages["echo"], loaded, 0)
    runtime = Runtime(limiter=Limiter(1, 0))
    request = ChatCompletionRequest.parse({"messages": [{"role": "user", "content": "a b"}]})
    response = await respond(served, request, runtime)
    assert response.model == "echo"  # type: ignore[attr-defined]
    stream = await open_stream(served, request.model_copy(update={"stream": True}), runtime)
    chunks = [chunk async for chunk in stream]
    await stream.aclose()
    assert len({c.id for c in chunks}) == 1  # one id for the whole stream
    assert all(c.usage is None for c in chunks)  # usage not asked for: not passed on
    assert runtime.limiter.running == 0
