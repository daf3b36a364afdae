"""A real local Ray cluster (bounded CPUs) with Ray Serve's HTTP proxy on a free 127.0.0.1 port,
started once for these tests and shut down after them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import _free_port

import modelport

ECHO = Path(__file__).parents[1] / "serving" / "models" / "echo_chat.py"
APP = "modelport"


@pytest.fixture(scope="session")
def ray_proxy() -> Iterator[str]:
    """The base URL of Ray Serve's HTTP proxy on a local cluster of 2 CPUs."""
    ray = pytest.importorskip("ray", reason="ray[serve] is not installed (scripts/install)")
    from ray import serve

    port = _free_port()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no report to the internet from tests
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="session")
def more_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A completions model and a generic PythonModel (MLflow's /invocations formats)."""
    root = tmp_path_factory.mktemp("ray-more")
    models = ECHO.parent
    modelport.save_model(root / "shout", python_model=models / "echo_completion.py")
    modelport.save_model(
        root / "lengths",
        python_model=models / "lengths.py",
        input_example=({"text": ["ab", "abc"]}, {"scale": 1}),
    )
    return {"shout": str(root / "shout"), "lengths": str(root / "lengths")}


@pytest.fixture(scope="session")
def echo_package(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ray-packages") / "echo"
    modelport.save_model(path, python_model=ECHO)
    return str(path)


@pytest.fixture
def deploy(ray_proxy: str) -> Iterator[Callable[..., str]]:
    """Deploy ``modelport.ray.build_app(...)`` as the app; return the OpenAI base URL. The app is
    deleted after the test."""
    from modelport.ray import build_app
    from ray import serve

    def run(models: dict[str, str], **options: Any) -> str:
        serve.run(build_app(models, **options), name=APP, route_prefix="/")
        return f"{ray_proxy}/v1"

    yield run
    serve.delete(APP)


def replica_count(deployment: str) -> int:
    """Running replicas of one of the app's deployments, as Ray Serve reports them."""
    from ray import serve

    status = serve.status().applications[APP].deployments[deployment]
    return int(status.replica_states.get("RUNNING", 0))


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:.0f}s")
        time.sleep(0.25)
