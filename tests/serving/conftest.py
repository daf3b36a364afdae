"""A real uvicorn server on a free 127.0.0.1 port, in a thread, over test models saved as code."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import modelport
from modelport.serving import ServerConfig, create_app
from modelport.serving.server import GracefulServer, bind_socket, make_server

MODELS = Path(__file__).parent / "models"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The test models, saved once as packages: name → path."""
    root = tmp_path_factory.mktemp("packages")
    paths = {}
    for name, example in [
        ("echo", None),
        ("shout", {"prompt": "hi"}),
        ("async", None),
        ("lengths", ({"text": ["ab", "abc"]}, {"scale": 1})),
    ]:
        code = (
            MODELS
            / {
                "echo": "echo_chat.py",
                "shout": "echo_completion.py",
                "async": "async_chat.py",
                "lengths": "lengths.py",
            }[name]
        )
        modelport.save_model(root / name, python_model=code, input_example=example)
        paths[name] = str(root / name)
    return paths


@dataclass
class RunningServer:
    url: str
    server: GracefulServer
    app: Any

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"


def start_server(
    config: ServerConfig, *, wait_ready: bool = True
) -> tuple[RunningServer, threading.Thread]:
    app = create_app(config)
    server = make_server(app, drain_timeout=5, log_level="warning")
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    running = RunningServer(f"http://127.0.0.1:{port}", server, app)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.started and (not wait_ready or app.state.modelport.models.ready):
            break
        if app.state.modelport.models.error is not None:
            raise app.state.modelport.models.error
        time.sleep(0.02)
    else:
        raise TimeoutError("the test server did not start within 30s")
    return running, thread


def stop_server(running: RunningServer, thread: threading.Thread, sock_close: bool = True) -> None:
    running.server.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive(), "the test server did not stop"


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """Start a server with the given ServerConfig fields; every one is stopped at teardown."""
    started: list[tuple[RunningServer, threading.Thread]] = []

    def run(models: dict[str, Any], **options: Any) -> RunningServer:
        running, thread = start_server(ServerConfig(models=models, **options))
        started.append((running, thread))
        return running

    yield run
    for running, thread in started:
        stop_server(running, thread)


@pytest.fixture(scope="module")
def shared_server(packages: dict[str, str]) -> Iterator[RunningServer]:
    """One server with every test model (chat ones named echo and async)."""
    running, thread = start_server(
        ServerConfig(
            models={name: packages[name] for name in ("echo", "shout", "async", "lengths")}
        )
    )
    yield running
    stop_server(running, thread)


@pytest.fixture(scope="module")
def demo_server(demo_model_uri: str) -> Iterator[RunningServer]:
    """A server with the real demo model only, named demo."""
    running, thread = start_server(ServerConfig(models={"demo": demo_model_uri}))
    yield running
    stop_server(running, thread)


@pytest.fixture
def http(shared_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_server.url, timeout=30) as client:
        yield client
