"""`modelport serve --ray` as a user runs it: a subprocess that starts its own local Ray cluster,
deploys the real demo model with 2 replicas and the echo model, and stops on SIGINT."""

from __future__ import annotations

import signal
from collections import Counter

import httpx
import pytest
from openai import OpenAI

from .test_serve import ECHO, ServeProcess

pytest.importorskip("ray", reason="ray[serve] is not installed (scripts/install)")

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.mark.slow
def test_serve_on_ray_with_two_replicas_of_the_demo_model(
    demo_model_uri: str, tmp_path: object
) -> None:
    import modelport

    echo = f"{tmp_path}/echo"
    modelport.save_model(echo, python_model=ECHO)
    server = ServeProcess(
        "--ray",
        "-m",
        f"demo={demo_model_uri}",
        "-m",
        f"echo={echo}",
        "--replicas",
        "demo=2",
        "--replica-cpus",
        "0.5",
        "--max-queue",
        "64",
        env={"RAY_USAGE_STATS_ENABLED": "0"},
    )
    try:
        base = server.wait_ready(limit=300)
        assert any("on Ray" in line for line in server.lines)
        client = OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="demo", messages=QUESTION, max_tokens=12, temperature=0, stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert "Paris" in text
        echoed = client.chat.completions.create(model="echo", messages=[QUESTION[0]])
        assert echoed.choices[0].message.content == QUESTION[0]["content"]
        cards = {m.id: m for m in client.models.list()}
        assert set(cards) == {"demo", "echo"}
        answered: Counter[str] = Counter()
        with httpx.Client(timeout=60) as http:
            for _ in range(12):
                response = http.post(
                    f"{base}/v1/chat/completions",
                    json={"model": "demo", "messages": QUESTION, "max_tokens": 2},
                )
                assert response.status_code == 200
                answered[response.headers["x-modelport-replica"]] += 1
        assert len(answered) == 2, answered
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGINT)
            try:
                out, _ = server.process.communicate(timeout=60)
            except Exception:
                server.stop()
                raise
            assert server.process.returncode == 0
            assert "stopped" in out
        else:
            server.stop()
