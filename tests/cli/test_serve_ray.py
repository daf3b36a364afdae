"""`modelport serve --ray` as a user runs it: a subprocess that starts its own local Ray cluster,
deploys the real demo model with 2 replicas and the echo model, and stops on SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from typing import Any

import httpx
import pytest
from openai import OpenAI

from modelport.cli._ray import check_fit
from modelport.errors import InvalidRequestError

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


def one(num_cpus: float = 1.0, **fields: int) -> dict[str, Any]:
    return {"num_cpus": num_cpus, **fields}


@pytest.mark.parametrize(
    ("scaling", "cpus", "started", "refused", "warning"),
    [
        ({"a": one(replicas=2)}, 2, True, None, None),
        ({"a": one(0.5, replicas=2), "b": one(0.5)}, 2, True, None, None),
        ({"a": one(0, replicas=9)}, 1, True, None, None),
        (
            {"a": one(replicas=2), "b": one()},
            2,
            True,
            "the replicas need 3 CPUs to start and the Ray cluster has 2",
            None,
        ),
        ({"a": one(replicas=3)}, 2, False, None, "warning: the replicas need 3 CPUs to start"),
        ({"a": one(min_replicas=0, max_replicas=2)}, 1, True, None, "autoscaling to the most"),
        ({"a": one(min_replicas=3, max_replicas=4)}, 2, True, "need 3 CPUs to start", None),
    ],
)
def test_replicas_that_cannot_fit_the_cluster_are_said_before_ray_waits_for_them(
    scaling: dict[str, dict[str, Any]],
    cpus: float,
    started: bool,
    refused: str | None,
    warning: str | None,
) -> None:
    said: list[str] = []
    if refused:
        with pytest.raises(InvalidRequestError, match=refused) as caught:
            check_fit(scaling, cpus, started, said.append)
        assert "--replica-cpus" in str(caught.value)
    else:
        check_fit(scaling, cpus, started, said.append)
    assert len(said) == (warning is not None)
    assert warning is None or warning in said[0]


def test_more_replicas_than_a_new_local_cluster_has_cpus_is_a_one_line_error(
    tmp_path: object,
) -> None:
    import modelport

    echo = f"{tmp_path}/echo"
    modelport.save_model(echo, python_model=ECHO)
    too_many = str((os.cpu_count() or 1) + 1)
    command = [sys.executable, "-m", "modelport.cli.main", "serve", "--port", "0", "-m", echo]
    done = subprocess.run(
        [*command, "--ray", "--replicas", too_many],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )
    assert done.returncode == 1
    assert f"the replicas need {too_many} CPUs to start and the Ray cluster has" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
