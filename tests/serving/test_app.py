"""create_app: served models given as loaded objects, and a model that fails to load."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import openai
import pytest

from modelport import load_model
from modelport.errors import NotFoundError
from modelport.serving import ServerConfig, create_app
from modelport.serving.server import bind_socket, make_server


def test_a_loaded_model_can_be_served_as_is(serve, packages: dict[str, str]) -> None:
    server = serve({"mine": load_model(packages["echo"])})
    with openai.OpenAI(base_url=server.v1, api_key="x", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="whatever", messages=[{"role": "user", "content": "in process"}]
        )
    assert reply.choices[0].message.content == "in process"
    assert reply.model == "mine"


def test_a_model_that_fails_to_load_stops_the_server(tmp_path: Path) -> None:
    app = create_app(ServerConfig(models={"gone": str(tmp_path / "missing")}))
    server = make_server(app, log_level="critical")
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the server kept running without its model"
    assert server.load_failed
    assert isinstance(app.state.modelport.models.error, NotFoundError)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
