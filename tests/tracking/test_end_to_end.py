"""The whole tracking flow on the default embedded store, from an empty working directory:
experiment → run → params/metrics → log models → register → alias → load by
``models:/name@alias`` → ``modelport serve`` it and call it with the official ``openai`` SDK;
and the same with the artifacts in object storage (a real S3 API server) and the store on
SQLite or PostgreSQL."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from openai import OpenAI

import modelport
from modelport.cli.main import main as cli

SERVER_START_TIMEOUT_S = 180.0


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start ``modelport serve`` on a free 127.0.0.1 port; return its OpenAI base URL."""
    started: list[tuple[subprocess.Popen[str], threading.Thread]] = []

    def start(*models: str, tracking_uri: str | None = None, flags: Sequence[str] = ()) -> str:
        command = [sys.executable, "-m", "modelport.cli.main", "serve", "--port", "0", *flags]
        for model in models:
            command += ["-m", model]
        env = {
            **os.environ,
            "MODELPORT_TRACKING_URI": tracking_uri or str(tmp_path),
            "PYTHONUNBUFFERED": "1",
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        started.append((process, reader))
        url, seen = None, []
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            found = re.search(r"serving at (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
            if line.startswith("ready:") and url:
                return f"{url}/v1"
        raise AssertionError("modelport serve did not get ready:\n" + "".join(seen[-30:]))

    yield start
    for process, reader in started:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def _train_and_register_chat_model(chat_model_file: Path) -> str:
    modelport.set_experiment("support")
    with modelport.start_run(run_name="echo-baseline") as run:
        modelport.log_params({"prefix": "echo", "temperature": 0})
        for step, loss in enumerate([0.9, 0.4, 0.2]):
            modelport.log_metric("loss", loss, step=step)
        info = modelport.log_model(
            "chat", python_model=chat_model_file, registered_model_name="support-bot"
        )
    assert info.registered_model_version == 1
    stored = modelport.tracking.get_run(run.info.run_id)
    assert stored.data.metrics == {"loss": 0.2} and stored.info.status == "FINISHED"
    return run.info.run_id


def test_a_logged_chat_model_is_served_by_alias_to_the_openai_sdk(
    tmp_path: Path,
    chat_model_file: Path,
    serve: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert list(tmp_path.iterdir()) == [chat_model_file]  # an empty working directory
    _train_and_register_chat_model(chat_model_file)
    assert cli(["models", "alias", "support-bot", "production", "1"]) == 0
    assert "now points to version 1" in capsys.readouterr().out

    loaded = modelport.load_model("models:/support-bot@production")
    reply = loaded.predict({"messages": [{"role": "user", "content": "ping"}]})
    assert reply["choices"][0]["message"]["content"] == "echo: ping"

    base_url = serve("models:/support-bot@production")
    client = OpenAI(base_url=base_url, api_key="unused")
    completion = client.chat.completions.create(
        model="support-bot", messages=[{"role": "user", "content": "hello there"}]
    )
    assert completion.choices[0].message.content == "echo: hello there"
    assert [m.id for m in client.models.list()] == ["support-bot"]


@pytest.mark.slow
def test_the_whole_flow_with_a_chat_model_and_the_transformers_demo_model(
    tmp_path: Path, chat_model_file: Path, serve: Callable[..., str]
) -> None:
    from modelport.demo import demo_hf_folder

    _train_and_register_chat_model(chat_model_file)
    with modelport.start_run(run_name="smollm2"):
        modelport.log_param("base", "SmolLM2-135M-Instruct")
        modelport.log_metric("params_millions", 135)
        info = modelport.log_model(
            "smollm2",
            transformers_model=str(demo_hf_folder(progress=False)),
            save_pretrained=False,  # reference the converted folder: no 540 MB copy
            registered_model_name="support-bot",
            progress=False,
        )
    assert (info.flavor, info.task, info.registered_model_version) == (
        "transformers",
        "llm/v1/chat",
        2,
    )
    tracking = modelport.TrackingClient()
    tracking.set_alias("support-bot", "production", 2)
    tracking.set_alias("support-bot", "baseline", 1)

    question = {"role": "user", "content": "What is the capital of France?"}
    loaded = modelport.load_model("models:/support-bot@production")
    reply = loaded.predict({"messages": [question], "max_tokens": 16, "temperature": 0})
    assert "Paris" in reply["choices"][0]["message"]["content"]

    base_url = serve("bot=models:/support-bot@production", "baseline=models:/support-bot@baseline")
    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    answer = client.chat.completions.create(
        model="bot", messages=[question], max_tokens=16, temperature=0
    )
    assert "Paris" in (answer.choices[0].message.content or "")
    echo = client.chat.completions.create(model="baseline", messages=[question])
    assert echo.choices[0].message.content == "echo: What is the capital of France?"


# On Ray, the replicas load the models in Ray's worker processes, which find the store, the
# bucket and the cache through the environment the command passes on.
RAY = ["--ray", "--replicas", "support-bot=2", "--replica-cpus", "0.5"]


@pytest.mark.parametrize("flags", [[], RAY], ids=["one process", "on Ray"])
def test_the_flow_with_artifacts_in_object_storage_served_to_the_openai_sdk(
    flags: list[str],
    store_uri: str,
    s3_root: str,
    tmp_path: Path,
    chat_model_file: Path,
    serve: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELPORT_ARTIFACT_ROOT", s3_root)
    modelport.set_tracking_uri(store_uri)
    run_id = _train_and_register_chat_model(chat_model_file)
    tracking = modelport.TrackingClient()
    assert tracking.get_model_version("support-bot", 1).storage_location.startswith(s3_root)
    tracking.set_alias("support-bot", "production", 1)

    # The server runs in another process with a cache of its own: it fetches from the bucket.
    monkeypatch.setenv("MODELPORT_CACHE_DIR", str(tmp_path / "server-cache"))
    package = f"{tracking.get_run(run_id).info.artifact_uri}/chat"
    assert package.startswith(s3_root)
    if flags:
        pytest.importorskip("ray", reason="ray[serve] is not installed (scripts/install)")
    base_url = serve(
        "models:/support-bot@production", f"direct={package}", tracking_uri=store_uri, flags=flags
    )
    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    for model in ("support-bot", "direct"):
        completion = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hello there"}]
        )
        assert completion.choices[0].message.content == "echo: hello there"
    stream = client.chat.completions.create(
        model="support-bot", messages=[{"role": "user", "content": "one two"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == (
        "echo: one two"
    )
    assert (tmp_path / "server-cache" / "objects").is_dir()
    if flags:  # both replicas loaded the registered version and answer
        replicas = set()
        for _ in range(12):
            raw = client.chat.completions.with_raw_response.create(
                model="support-bot", messages=[{"role": "user", "content": "hi"}]
            )
            assert raw.parse().choices[0].message.content == "echo: hi"
            replicas.add(raw.headers["x-modelport-replica"])
        assert len(replicas) == 2, replicas
