"""``modelport experiments list``: a table, or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.cli.main import main
from modelport.tracking import TrackingClient
from modelport.tracking.state import tracking_state


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    tracking_state.close_stores()


def test_experiments_are_listed_with_their_run_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = TrackingClient()
    first = client.create_experiment("baseline")
    client.create_experiment("tuning")
    for _ in range(3):
        client.create_run(first)
    assert main(["experiments", "list"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "baseline" in line or "tuning" in line]
    assert len(rows) == 2
    assert "│ 3 " in rows[0] and "│ 0 " in rows[1]
    assert str(tmp_path) in out  # where the store is


def test_json_output_lists_every_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    TrackingClient().create_experiment("baseline", tags={"team": "nlp"})
    assert main(["experiments", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["tags"]) for e in data] == [("baseline", {"team": "nlp"})]


def test_an_empty_store_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    TrackingClient(tmp_path / "other")
    assert main(["experiments", "list", "--tracking-uri", str(tmp_path / "other")]) == 0
    assert "No experiments" in capsys.readouterr().out


def test_a_missing_store_is_reported_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["experiments", "list"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"No tracking store at {tmp_path / 'modelport.db'} yet (choose one with --tracking-uri)."
    )
    assert main(["experiments", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not (tmp_path / "modelport.db").exists()


def test_a_bad_tracking_uri_is_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiments", "list", "--tracking-uri", "sqlite://"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: Tracking URI 'sqlite://' names no database file")
    assert len(captured.err.strip().splitlines()) == 1
