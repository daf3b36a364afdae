"""The web UI over a real store (filled by the fluent API), served by a real uvicorn server on a
free 127.0.0.1 port; a headless Debian chromium driven by Playwright for the page tests."""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

import modelport
from modelport.serving.server import bind_socket
from modelport.tracking.state import tracking_state
from modelport.ui import create_ui_app

ECHO_MODEL = Path(__file__).parents[1] / "serving" / "models" / "echo_chat.py"


@dataclass
class Store:
    uri: str
    sweep: str
    """The id of the experiment "sweep": three runs lr-0.1, lr-0.01, lr-0.001."""
    runs: dict[str, str]
    """Run name → run id."""


def fill_store(root: Path) -> Store:
    """Experiments, runs with params, metric histories and artifacts, and a registered model
    with two versions and an alias, all written through the fluent API."""
    uri = str(root / "store")
    modelport.set_tracking_uri(uri)
    try:
        sweep = modelport.set_experiment("sweep").experiment_id
        runs = {}
        for i, lr in enumerate([0.1, 0.01, 0.001]):
            with modelport.start_run(run_name=f"lr-{lr}") as run:
                modelport.log_params({"lr": lr, "layers": 2 if i < 2 else 4})
                for step in range(10):
                    modelport.log_metric("loss", math.exp(-step * lr * 10) + i, step=step)
                files = root / f"files-{i}"
                files.mkdir()
                (files / "notes.txt").write_text(f"notes of run {i}\n")
                (files / "config.json").write_text(f'{{"lr": {lr}, "i": {i}}}')
                modelport.log_artifact(files / "notes.txt")
                modelport.log_artifact(files / "config.json", "configs")
                runs[f"lr-{lr}"] = run.info.run_id
        modelport.set_experiment("chatbots")
        for version in (1, 2):
            with modelport.start_run(run_name=f"echo-v{version}") as run:
                modelport.log_param("version", version)
                modelport.log_model(
                    "model",
                    python_model=str(ECHO_MODEL),
                    registered_model_name="echo",
                    input_example={"messages": [{"role": "user", "content": "hi"}]},
                )
                runs[f"echo-v{version}"] = run.info.run_id
        modelport.TrackingClient(uri).set_registered_model_alias("echo", "champion", 1)
    finally:
        modelport.set_tracking_uri(None)
        tracking_state.experiment_name = None
    return Store(uri, sweep, runs)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return fill_store(tmp_path_factory.mktemp("ui-store"))


@dataclass
class Running:
    url: str
    server: uvicorn.Server

    def ui(self, fragment: str = "") -> str:
        return f"{self.url}/ui/{fragment}"


def run_app(app: Any) -> tuple[Running, threading.Thread]:
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the UI server did not start within 30s"
        time.sleep(0.02)
    return Running(f"http://127.0.0.1:{sock.getsockname()[1]}", server), thread


def stop_app(running: Running, thread: threading.Thread) -> None:
    running.server.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive(), "the UI server did not stop"


@pytest.fixture(scope="module")
def ui_server(store: Store) -> Iterator[Running]:
    """``modelport ui`` over the filled store."""
    running, thread = run_app(create_ui_app(store.uri))
    yield running
    stop_app(running, thread)


@pytest.fixture
def start_app() -> Iterator[Callable[[Any], Running]]:
    started: list[tuple[Running, threading.Thread]] = []

    def start(app: Any) -> Running:
        started.append(run_app(app))
        return started[-1][0]

    yield start
    for running, thread in started:
        stop_app(running, thread)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless chromium (Debian's, which scripts/install adds), driven by Playwright."""
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (scripts/install adds it)"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium on this machine (scripts/install adds it with apt-get as root)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; JavaScript errors in it fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


SCREENSHOTS = Path(__file__).parents[2] / "docs" / "img"


def screenshot(page: Any, name: str) -> None:
    """Save the page for docs/ui.md (docs/img/ui-<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"ui-{name}.png"), full_page=True)
