"""Back-pressure: the Limiter alone, then a real server under more load than it takes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import pytest
from openai.types.chat import ChatCompletion

from modelport.errors import InvalidRequestError, QueueFullError
from modelport.serving.limits import Deadline, Limiter


@pytest.mark.anyio
async def test_limiter_runs_queues_then_refuses() -> None:
    limiter = Limiter(max_concurrency=1, max_queue=1, retry_after=3)
    first = await limiter.acquire()
    order: list[str] = []

    async def waiter() -> None:
        slot = await limiter.acquire()
        order.append("second ran")
        slot.release()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        assert (limiter.running, limiter.waiting) == (1, 1)
        with pytest.raises(QueueFullError) as caught:
            await limiter.acquire()
        assert caught.value.retry_after == 3
        assert caught.value.status_code == 429
        first.release()
        first.release()  # idempotent
    assert order == ["second ran"]
    assert (limiter.running, limiter.waiting) == (0, 0)


@pytest.mark.anyio
async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    limiter = Limiter(max_concurrency=1, max_queue=5)
    slot = await limiter.acquire()
    with anyio.move_on_after(0.05):
        await limiter.acquire()
    assert limiter.waiting == 0
    slot.release()
    assert limiter.running == 0


@pytest.mark.anyio
async def test_deadline() -> None:
    assert Deadline(None).remaining() == float("inf")
    deadline = Deadline(0.01)
    await anyio.sleep(0.02)
    assert deadline.expired and deadline.remaining() == 0
    assert deadline.error().status_code == 504


def test_limits_must_make_sense() -> None:
    with pytest.raises(InvalidRequestError, match="max_concurrency"):
        Limiter(0, 1)
    with pytest.raises(InvalidRequestError, match="max_queue"):
        Limiter(1, -1)


def test_overload_gives_429s_and_only_valid_answers(serve, packages: dict[str, str]) -> None:
    server = serve({"echo": packages["echo"]}, max_concurrency=2, max_queue=2, retry_after=2)
    body = {
        "messages": [{"role": "user", "content": "one two three"}],
        "custom_inputs": {"delay": 0.3},
    }

    def call(_: int) -> httpx.Response:
        return httpx.post(f"{server.v1}/chat/completions", json=body, timeout=30)

    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(call, range(10)))
    statuses = sorted(r.status_code for r in replies)
    assert set(statuses) == {200, 429}, statuses
    assert statuses.count(200) >= 4  # 2 running + 2 waiting at least
    for reply in replies:
        if reply.status_code == 200:
            ChatCompletion.model_validate(reply.json())
        else:
            assert reply.headers["retry-after"] == "2"
            assert reply.json()["error"]["type"] == "rate_limit_error"
    assert httpx.get(f"{server.url}/health").status_code == 200
