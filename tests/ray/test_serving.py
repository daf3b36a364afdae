"""modelport's server on a real local Ray cluster: the official openai SDK against Ray Serve's
HTTP proxy, replicas, back-pressure, faults and disconnects."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI, OpenAI

from .conftest import ECHO, replica_count, wait_until

HELLO = [{"role": "user", "content": "hello there"}]
TWO_REPLICAS = {"echo": {"replicas": 2, "num_cpus": 0.5}}


def test_the_openai_sdk_plain_streaming_and_async_over_two_replicas(
    deploy: Callable[..., str], echo_package: str
) -> None:
    base_url = deploy({"echo": echo_package}, scaling=TWO_REPLICAS)
    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    reply = client.chat.completions.create(model="echo", messages=HELLO)
    assert reply.choices[0].message.content == "hello there"
    assert reply.model == "echo"
    stream = client.chat.completions.create(model="echo", messages=HELLO, stream=True)
    chunks = [c for c in stream if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hello there"
    assert chunks[-1].choices[0].finish_reason == "stop" and len({c.id for c in chunks}) == 1
    assert [m.id for m in client.models.list()] == ["echo"]

    async def twenty() -> list[str]:
        async with AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0) as aclient:
            replies = await asyncio.gather(
                *(
                    aclient.chat.completions.create(
                        model="echo", messages=[{"role": "user", "content": f"n{i}"}]
                    )
                    for i in range(20)
                )
            )
        return [r.choices[0].message.content or "" for r in replies]

    assert asyncio.run(twenty()) == [f"n{i}" for i in range(20)]

    # Requests spread over both replicas (Ray routes each to the less busy of two): each
    # response names the replica that answered it. The ingress's router learns of a new
    # replica a moment after Ray reports it running, so a few rounds of 12 are allowed.
    wait_until(lambda: replica_count("model-echo") == 2, 60, "two running replicas")
    answered: Counter[str] = Counter()

    def one() -> None:
        with httpx.Client(timeout=30) as http:
            response = http.post(
                f"{base_url}/chat/completions",
                json={"model": "echo", "messages": HELLO, "custom_inputs": {"delay": 0.2}},
            )
            answered[response.headers["x-modelport-replica"]] += 1

    for _ in range(10):
        senders = [threading.Thread(target=one) for _ in range(12)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        if len(answered) == 2:
            break
        time.sleep(1)
    with httpx.Client(timeout=30) as http:
        streamed = http.post(
            f"{base_url}/chat/completions",
            json={"model": "echo", "messages": HELLO, "stream": True},
        )
        assert streamed.headers["x-modelport-replica"] in answered
    assert len(answered) == 2, answered


def test_completions_and_invocations_reach_their_replicas(
    deploy: Callable[..., str], echo_package: str, more_packages: dict[str, str]
) -> None:
    models = {"echo": echo_package, **more_packages}
    # three replicas on a 2-CPU cluster: each reserves half a CPU (a whole one would not fit)
    base_url = deploy(models, scaling={name: {"num_cpus": 0.5} for name in models})
    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    shouted = client.completions.create(model="shout", prompt="hi there")
    assert shouted.choices[0].text == "HI THERE"
    root = base_url.removesuffix("/v1")
    with httpx.Client(base_url=root, timeout=30) as http:
        body = {"model": "lengths", "inputs": {"text": ["hello", ""]}, "params": {"scale": 2}}
        assert http.post("/invocations", json=body).json() == {"predictions": [10, 0]}
        body = {"model": "lengths", "inputs": {"text": ["ab", "abc"]}, "stream": True}
        with http.stream("POST", "/invocations", json=body) as reply:
            lines = [line for line in reply.iter_lines() if line]
        assert lines == ['data: {"length": 2}', 'data: {"length": 3}', "data: [DONE]"]
        bogus = {"model": "lengths", "inputs": {"text": ["ab"]}, "params": {"bogus": 1}}
        refused = http.post("/invocations", json=bogus)
        assert refused.status_code == 400 and "scale" in refused.json()["error"]["message"]
        chat = {"model": "echo", "messages": HELLO}
        answer = http.post("/invocations", json=chat).json()
        assert answer["choices"][0]["message"]["content"] == "hello there"


def test_errors_keep_the_openai_envelope(deploy: Callable[..., str], echo_package: str) -> None:
    base_url = deploy({"echo": echo_package}, api_key="sesame")
    with httpx.Client(base_url=base_url, timeout=30) as http:
        no_key = http.post("/chat/completions", json={"model": "echo", "messages": HELLO})
        assert no_key.status_code == 401
        assert no_key.json()["error"]["code"] == "invalid_api_key"
        auth = {"Authorization": "Bearer sesame"}
        bad = http.post(
            "/chat/completions",
            json={"model": "echo", "messages": HELLO, "temperature": 9},
            headers=auth,
        )
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "temperature"
        failing = http.post(
            "/chat/completions",
            json={"model": "echo", "messages": HELLO, "custom_inputs": {"fail": True}},
            headers=auth,
        )
        assert failing.status_code == 500
        assert failing.json()["error"]["code"] == "model_error"
        assert failing.headers["x-request-id"]
        unknown = http.get("/models/nope", headers=auth)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    with httpx.Client(timeout=30) as http:
        root = base_url.removesuffix("/v1")
        assert http.get(f"{root}/health").status_code == 200
        metrics = http.get(f"{root}/metrics", headers=auth).text
        assert (
            'modelport_http_requests_total{method="POST",route="/v1/chat/completions",status="400"}'
            in metrics
        )


def test_a_full_replica_queue_answers_429_with_retry_after(
    deploy: Callable[..., str], echo_package: str
) -> None:
    base_url = deploy(
        {"echo": echo_package},
        scaling={"echo": {"max_ongoing_requests": 1, "max_queued_requests": 1, "num_cpus": 0.5}},
    )
    statuses: list[int] = []
    retry_after: list[str | None] = []
    bodies: list[dict] = []

    def one() -> None:
        with httpx.Client(timeout=60) as http:
            response = http.post(
                f"{base_url}/chat/completions",
                json={
                    "model": "echo",
                    "messages": [{"role": "user", "content": "a b c d"}],
                    "custom_inputs": {"delay": 0.5},
                },
            )
        statuses.append(response.status_code)
        if response.status_code != 200:
            retry_after.append(response.headers.get("retry-after"))
            bodies.append(response.json())

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) == {200, 429}, statuses
    assert statuses.count(200) >= 2
    assert all(value == "1" for value in retry_after)
    assert all(body["error"]["type"] == "rate_limit_error" for body in bodies)


def test_a_disconnected_stream_stops_the_generation_on_the_replica(
    deploy: Callable[..., str], echo_package: str, tmp_path: Path
) -> None:
    base_url = deploy({"echo": echo_package})
    log = tmp_path / "words.log"
    body = {
        "model": "echo",
        "messages": [{"role": "user", "content": "w"}],
        "stream": True,
        "custom_inputs": {"delay": 0.1, "repeat": 200, "log": str(log)},
    }
    with (
        httpx.Client(timeout=30) as http,
        http.stream("POST", f"{base_url}/chat/completions", json=body) as response,
    ):
        lines = response.iter_lines()
        received = [next(lines) for _ in range(6)]
    assert any(line.startswith("data:") for line in received)
    time.sleep(2.0)
    produced = len(log.read_text().splitlines())
    time.sleep(1.5)
    assert len(log.read_text().splitlines()) == produced  # it stopped
    assert produced < 100  # long before the 200 words it was asked for


def test_a_killed_replica_is_replaced_and_requests_keep_being_answered(
    deploy: Callable[..., str], echo_package: str
) -> None:
    import ray

    base_url = deploy({"echo": echo_package}, scaling=TWO_REPLICAS)
    wait_until(lambda: replica_count("model-echo") == 2, 60, "two running replicas")
    victims = [
        actor
        for actor in ray.util.list_named_actors(all_namespaces=True)
        if "model-echo" in actor["name"]
    ]
    assert len(victims) == 2
    statuses: Counter[int] = Counter()
    errors: list[dict] = []
    with httpx.Client(timeout=30) as http:
        ray.kill(ray.get_actor(victims[0]["name"], namespace=victims[0]["namespace"]))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = http.post(
                f"{base_url}/chat/completions", json={"model": "echo", "messages": HELLO}
            )
            statuses[response.status_code] += 1
            if response.status_code != 200:
                errors.append(response.json()["error"])
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > statuses[503]
    assert all(error["type"] == "service_unavailable" for error in errors)
    wait_until(lambda: replica_count("model-echo") == 2, 60, "the replica's replacement")


@pytest.mark.parametrize(
    ("scaling", "words"),
    [
        ({"chat": {"replicas": 2}}, "not served: chat"),
        ({"echo": {"replicas": 0}}, "greater than or equal to 1"),
        ({"echo": {"replicas": 2, "min_replicas": 1, "max_replicas": 2}}, "not both"),
        ({"echo": {"min_replicas": 3, "max_replicas": 2}}, "above max_replicas"),
        ({"echo": {"min_replicas": 1}}, "needs both"),
        ({"echo": {"gpus": 1}}, "gpus"),
    ],
)
def test_bad_scaling_is_refused_before_anything_deploys(
    scaling: dict, words: str, echo_package: str
) -> None:
    from modelport.errors import InvalidRequestError
    from modelport.ray import build_app

    with pytest.raises(InvalidRequestError, match=words):
        build_app({"echo": echo_package}, scaling=scaling)


def test_unknown_server_settings_are_refused(echo_package: str) -> None:
    from modelport.errors import InvalidRequestError
    from modelport.ray import build_app

    with pytest.raises(InvalidRequestError, match="unknown server settings: colour"):
        build_app({"echo": echo_package}, colour="blue")


def test_autoscaling_goes_from_one_replica_to_two_under_load_and_back(
    deploy: Callable[..., str], echo_package: str
) -> None:
    base_url = deploy(
        {"echo": echo_package},
        scaling={
            "echo": {
                "min_replicas": 1,
                "max_replicas": 2,
                "target_ongoing_requests": 1,
                "num_cpus": 0.5,
            }
        },
    )
    wait_until(lambda: replica_count("model-echo") == 1, 60, "one running replica")
    stop = threading.Event()
    failures: list[int] = []

    def load() -> None:
        with httpx.Client(timeout=60) as http:
            while not stop.is_set():
                response = http.post(
                    f"{base_url}/chat/completions",
                    json={
                        "model": "echo",
                        "messages": [{"role": "user", "content": "a b c d e"}],
                        "custom_inputs": {"delay": 0.3},
                    },
                )
                if response.status_code != 200:
                    failures.append(response.status_code)

    clients = [threading.Thread(target=load) for _ in range(6)]
    for client in clients:
        client.start()
    try:
        wait_until(lambda: replica_count("model-echo") == 2, 60, "scaling up to 2 replicas")
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert failures == []
    wait_until(lambda: replica_count("model-echo") == 1, 90, "scaling back down to 1 replica")


def test_the_web_ui_and_relative_paths_are_served_by_the_ingress(
    deploy: Callable[..., str],
    echo_package: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelport.tracking import TrackingClient

    monkeypatch.chdir(tmp_path)  # the ingress runs in Ray's worker, not in this folder
    client = TrackingClient("sqlite:///store.db")
    run = client.create_run(client.create_experiment("on-ray"), run_name="first")
    client.log_metric(run.info.run_id, "loss", 0.25)
    echo = os.path.relpath(echo_package)  # relative to this folder, not to the worker's
    base_url = deploy({"echo": echo}, ui=True, ui_store="sqlite:///store.db")
    root = base_url.removesuffix("/v1")
    with httpx.Client(base_url=root, timeout=30) as http:
        page = http.get("/ui/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        names = [e["name"] for e in http.get("/ui/api/experiments").json()["experiments"]]
        assert "on-ray" in names
        shown = http.get(f"/ui/api/runs/{run.info.run_id}").json()
        assert shown["data"]["metrics"] == {"loss": 0.25}
        # the playground's API, on the same origin
        chat = http.post("/v1/chat/completions", json={"model": "echo", "messages": HELLO})
        assert chat.json()["choices"][0]["message"]["content"] == "hello there"


def test_a_replica_runs_as_many_sync_calls_at_once_as_it_takes(
    deploy: Callable[..., str], tmp_path: Path
) -> None:
    import modelport

    package = tmp_path / "gathering"
    modelport.save_model(package, python_model=ECHO.parent / "gathering_chat.py")
    base_url = deploy({"gather": str(package)}, scaling={"gather": {"num_cpus": 0.5}})

    async def sixteen() -> list[int]:
        async with AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0) as client:
            replies = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model="gather", messages=HELLO, extra_body={"custom_inputs": {"hold": 2}}
                    )
                    for _ in range(16)
                )
            )
        return [int(r.choices[0].message.content or 0) for r in replies]

    # asyncio's default pool (cores + 4 threads: 6 here) would have held the rest back
    assert max(asyncio.run(sixteen())) >= 12
