"""A real modelport server on a free loopback port, serving a small streaming chat model."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelport
from modelport.serving import ServerConfig, create_app
from modelport.serving.server import bind_socket, make_server

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ lives at the repository root, beside src/
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="module")
def counting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a server whose model 'counting' streams max_tokens words."""
    package = tmp_path_factory.mktemp("bench") / "counting"
    modelport.save_model(
        package, python_model=Path(__file__).parent / "models" / "counting_chat.py"
    )
    app = create_app(ServerConfig(models={"counting": str(package)}))
    server = make_server(app, drain_timeout=5, log_level="warning")
    sock = bind_socket("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (server.started and app.state.modelport.models.ready):
        assert time.monotonic() < deadline, "the bench test server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=15)
