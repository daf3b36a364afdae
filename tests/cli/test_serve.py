"""`modelport serve` as a user runs it: a subprocess on a free port, stopped by a signal."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import modelport
from modelport.cli.main import main
from modelport.cli.serve import parse_size
from modelport.serving.served import parse_model_spec
from modelport.serving.server import bind_socket

ECHO = Path(__file__).parents[1] / "serving" / "models" / "echo_chat.py"
MSG = [{"role": "user", "content": "one two three four five six"}]


class ServeProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelport.cli.main", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.url = ""

    def wait_ready(self, limit: float = 60) -> str:
        """Read stdout until the server says it is ready; returns the base URL."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"serve exited early: {self.stderr_text()}")
            self.lines.append(line.rstrip("\n"))
            found = re.search(r"serving at (http://127\.0\.0\.1:\d+)", line)
            if found:
                self.url = found.group(1)
            if line.startswith("ready:"):
                # the examples follow the ready line
                for _ in range(8):
                    self.lines.append(self.process.stdout.readline().rstrip("\n"))
                return self.url
        raise AssertionError("serve did not become ready in time")

    def stderr_text(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=10)


@pytest.fixture
def echo_package(tmp_path: Path) -> str:
    modelport.save_model(tmp_path / "echo", python_model=ECHO)
    return str(tmp_path / "echo")


@pytest.fixture
def start() -> Iterator[type[ServeProcess]]:
    started: list[ServeProcess] = []

    class Tracked(ServeProcess):
        def __init__(self, *args: str, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            started.append(self)

    yield Tracked
    for process in started:
        process.stop()


def test_serve_prints_where_it_listens_and_examples(start, echo_package: str) -> None:
    server = start("-m", f"chat={echo_package}", "--api-key", "k1")
    url = server.wait_ready()
    text = "\n".join(server.lines)
    assert f"{url}/v1" in text
    assert "loaded 'chat'" in text
    assert "curl " in text and "Authorization: Bearer k1" in text
    assert "from openai import OpenAI" in text and "model='chat'" in text
    reply = httpx.post(
        f"{url}/v1/chat/completions",
        json={"messages": MSG},
        headers={"Authorization": "Bearer k1"},
    )
    assert reply.status_code == 200


def test_api_key_from_the_environment(start, echo_package: str) -> None:
    server = start("-m", echo_package, env={"MODELPORT_API_KEY": "from-env"})
    url = server.wait_ready()
    assert httpx.post(f"{url}/v1/chat/completions", json={"messages": MSG}).status_code == 401
    ok = httpx.post(
        f"{url}/v1/chat/completions",
        json={"messages": MSG},
        headers={"Authorization": "Bearer from-env"},
    )
    assert ok.status_code == 200


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_drains_then_exits_0(start, echo_package: str, stop_signal: int) -> None:
    server = start("-m", echo_package, "--shutdown-timeout", "10")
    url = server.wait_ready()
    results: dict[str, httpx.Response] = {}

    def slow_request() -> None:
        body = {"messages": MSG, "custom_inputs": {"delay": 0.3}}
        results["slow"] = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)

    worker = threading.Thread(target=slow_request)
    worker.start()
    deadline = time.monotonic() + 10
    while "modelport_requests_in_flight 1.0" not in httpx.get(f"{url}/metrics").text:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    server.process.send_signal(stop_signal)
    deadline = time.monotonic() + 10
    while httpx.get(f"{url}/health").status_code != 503:  # it has begun draining
        assert time.monotonic() < deadline, "the server did not begin draining"
        time.sleep(0.02)
    refused = httpx.post(f"{url}/v1/chat/completions", json={"messages": MSG})
    assert refused.status_code == 503
    assert refused.json()["error"]["type"] == "service_unavailable"
    worker.join(timeout=20)
    assert results["slow"].status_code == 200  # the request under way was finished
    assert results["slow"].json()["choices"][0]["message"]["content"] == MSG[0]["content"]
    assert server.process.wait(timeout=15) == 0


def test_a_model_that_cannot_load_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["serve", "-m", str(tmp_path / "missing"), "--port", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: cannot load the model" in err and str(tmp_path / "missing") in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--max-concurrency", "0"],
            "--max-concurrency: Input should be greater than or equal to 1",
        ),
        (["--max-queue", "-1"], "--max-queue: Input should be greater than or equal to 0"),
        (["--port", "70000"], "--port must be 0-65535"),
        (["-m", "a=/x", "-m", "a=/y"], "two models are named 'a'"),
        (["--store", "/tmp/store"], "--store is the store of the web UI's pages: add --ui"),
        (["--replicas", "2"], "--replicas is an option of Ray serving: add --ray"),
        (["--autoscale", "1:2"], "--autoscale is an option of Ray serving: add --ray"),
        (["--ray-address", "auto"], "--ray-address is an option of Ray serving: add --ray"),
        (["--ray", "--replica-cpus", "-1"], "--replica-cpus must be 0 or more"),
        (["--ray", "--replicas", "other=2"], "--replicas 'other=2': no served model is named"),
        (["--ray", "--replicas", "two"], "--replicas 'two': use N or NAME=N"),
        (["--ray", "--autoscale", "1-3"], "--autoscale '1-3': use MIN:MAX or NAME=MIN:MAX"),
        (
            ["--ray", "--replicas", "2", "--autoscale", "1:2"],
            "--replicas and --autoscale both set model 'somewhere'",
        ),
        (["--ray", "--autoscale", "3:2"], "min_replicas (3) is above max_replicas (2)"),
        (["--ray"], "No model at '/somewhere'"),
    ],
)
def test_bad_flags_are_one_line_errors(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "-m", "/somewhere", *flags]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_taken_port_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    taken = bind_socket("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        assert main(["serve", "-m", "/somewhere", "--port", str(port)]) == 1
    finally:
        taken.close()
    assert "pick another --port" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "size"), [("100", 100), ("2k", 2048), ("10MB", 10 * 1024**2), ("1 GiB", 1024**3)]
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("spec", "name", "uri"),
    [
        ("chat=/tmp/x", "chat", "/tmp/x"),
        ("/srv/models/tiny-chat", "tiny-chat", "/srv/models/tiny-chat"),
        ("models:/support-bot/3", "support-bot", "models:/support-bot/3"),
        ("models:/support-bot@prod", "support-bot", "models:/support-bot@prod"),
        ("bot=runs:/abc/model", "bot", "runs:/abc/model"),
    ],
)
def test_model_specs(spec: str, name: str, uri: str) -> None:
    assert parse_model_spec(spec) == (name, uri)


def test_at_the_shutdown_timeout_running_requests_are_cut_cleanly(start, echo_package: str) -> None:
    server = start("-m", echo_package, "--shutdown-timeout", "2")
    url = server.wait_ready()
    slow = {"messages": MSG, "custom_inputs": {"delay": 0.2, "repeat": 100}}  # two minutes
    results: dict[str, object] = {}

    def stream() -> None:
        events = []
        with httpx.stream(
            "POST", f"{url}/v1/chat/completions", json={**slow, "stream": True}, timeout=60
        ) as reply:
            for line in reply.iter_lines():
                if line.startswith("data: "):
                    events.append(line[len("data: ") :])
        results["stream"] = events

    def plain() -> None:
        results["plain"] = httpx.post(f"{url}/v1/chat/completions", json=slow, timeout=60)

    workers = [threading.Thread(target=stream), threading.Thread(target=plain)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 10
    while "modelport_requests_in_flight 2.0" not in httpx.get(f"{url}/metrics").text:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=20) == 0
    exited = time.monotonic() - signalled
    for worker in workers:
        worker.join(timeout=10)

    # within the timeout plus a small margin, not uvicorn's own timeout on top
    assert 2 <= exited < 2 + 2.5, exited
    events = results["stream"]
    assert isinstance(events, list) and "[DONE]" not in events
    assert '"code": "shutting_down"' in events[-1] and '"service_unavailable"' in events[-1]
    plain_reply = results["plain"]
    assert isinstance(plain_reply, httpx.Response) and plain_reply.status_code == 503
    assert plain_reply.json()["error"]["code"] == "shutting_down"
    log = server.stderr_text()
    assert "Traceback" not in log and "CancelledError" not in log
    assert '"POST /v1/chat/completions" 503' in log
    assert re.search(r'"POST /v1/chat/completions" 200 .* stream_error=shutting_down', log), log


def test_serve_ui_prints_the_ui_url_and_serves_the_page(start, echo_package: str) -> None:
    server = start("-m", f"chat={echo_package}", "--ui")
    url = server.wait_ready()
    assert any(f"UI: {url}/ui/" in line for line in server.lines)
    assert httpx.get(f"{url}/ui/").status_code == 200
    assert httpx.get(f"{url}/ui/api/config").json()["chat_base_url"] == "/v1"
