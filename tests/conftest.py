"""Shared fixtures: every test runs in its own working directory with its own tracking store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own cwd and tracking location, so no test sees another's files."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELPORT_TRACKING_URI", raising=False)
    yield tmp_path


@pytest.fixture(scope="session")
def demo_model_uri() -> str:
    """The real demo chat model (SmolLM2-135M-Instruct), built once and cached outside the repo."""
    from modelport.demo import build_demo_package

    return str(build_demo_package())
