"""Server-Sent Events from a started stream, without a server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from modelport.errors import ModelExecutionError
from modelport.serving.limits import Deadline, Limiter
from modelport.serving.service import ChunkStream
from modelport.serving.sse import DONE, encode_event, sse_events
from modelport.types import ChatCompletionChunk


def test_events_are_data_lines() -> None:
    chunk = ChatCompletionChunk(
        id="c1", created=1, model="m", choices=[{"delta": {"content": "é"}}]
    )
    event = encode_event(chunk)
    assert event.startswith("data: {") and event.endswith("\n\n")
    assert json.loads(event[6:])["choices"][0]["delta"]["content"] == "é"
    assert DONE == "data: [DONE]\n\n"
    assert encode_event({"scores": (1, float("nan"))}) == 'data: {"scores": [1, null]}\n\n'


async def _items(fail_after: int | None) -> AsyncIterator[dict]:
    for i in range(3):
        if fail_after is not None and i == fail_after:
            error = ModelExecutionError("The model raised RuntimeError while predicting")
            error.__cause__ = RuntimeError("secret")
            raise error
        yield {"i": i}


async def _stream(fail_after: int | None, limiter: Limiter) -> ChunkStream:
    stream = ChunkStream(_items(fail_after), await limiter.acquire(), Deadline(None))
    await stream.start()
    return stream


@pytest.mark.anyio
async def test_a_stream_ends_with_done_and_gives_its_place_back() -> None:
    limiter = Limiter(1, 0)
    events = [e async for e in sse_events(await _stream(None, limiter))]
    assert events == ['data: {"i": 0}\n\n', 'data: {"i": 1}\n\n', 'data: {"i": 2}\n\n', DONE]
    assert limiter.running == 0


@pytest.mark.anyio
async def test_an_error_mid_stream_is_the_last_event(caplog: pytest.LogCaptureFixture) -> None:
    limiter = Limiter(1, 0)
    events = [e async for e in sse_events(await _stream(1, limiter), "req-1")]
    assert events[0] == 'data: {"i": 0}\n\n'
    error = json.loads(events[1][6:])["error"]
    assert error["type"] == "server_error" and "secret" not in error["message"]
    assert len(events) == 2  # no [DONE] after an error
    assert limiter.running == 0
    assert "req-1" in caplog.text and "secret" in caplog.text  # the cause goes to the log
