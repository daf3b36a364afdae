"""`modelport ui` as a user runs it: a subprocess on a free port over a store in its folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import modelport
from modelport.cli.main import main


def test_ui_prints_its_url_and_serves_the_store(tmp_path: Path) -> None:
    modelport.set_tracking_uri(str(tmp_path / "store"))
    try:
        modelport.set_experiment("from-the-cli")
        with modelport.start_run():
            modelport.log_metric("loss", 0.5)
    finally:
        modelport.set_tracking_uri(None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelport.cli.main",
            "ui",
            "--port",
            "0",
            "--store",
            str(tmp_path / "store"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"modelport UI at (http://127\.0\.0\.1:\d+)/ui/", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        assert str(tmp_path / "store") in line
        url = found.group(1)
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"{url}/ui/api/experiments")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        names = [e["name"] for e in answer.json()["experiments"]]
        assert "from-the-cli" in names
        assert httpx.get(f"{url}/ui/").status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--port", "70000"], "--port must be 0-65535"),
        (["--store", "sqlite://"], "sqlite:///"),
    ],
)
def test_bad_flags_are_one_line_errors(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ui", *flags]) == 1
    err = capsys.readouterr().err
    assert message in err.lower() or message in err
    assert err.count("\n") == 1
