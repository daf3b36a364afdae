"""Tracking URIs → database and artifact root."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import InvalidRequestError
from modelport.tracking.config import redact, resolve_store


def test_the_default_store_is_in_the_working_directory(tmp_path: Path) -> None:
    location = resolve_store()
    assert location.db_uri == f"sqlite:///{tmp_path / 'modelport.db'}"
    assert location.artifact_root == str(tmp_path / "modelport-artifacts")


def test_a_folder_holds_both_database_and_artifacts(tmp_path: Path) -> None:
    for uri in (str(tmp_path / "store"), f"file://{tmp_path / 'store'}"):
        location = resolve_store(uri)
        assert location.db_uri == f"sqlite:///{tmp_path / 'store' / 'modelport.db'}"
        assert location.artifact_root == str(tmp_path / "store" / "modelport-artifacts")


def test_a_sqlite_file_keeps_its_artifacts_beside_it(tmp_path: Path) -> None:
    location = resolve_store("sqlite:///data/track.db")
    assert location.db_uri == f"sqlite:///{tmp_path / 'data' / 'track.db'}"
    assert location.artifact_root == str(tmp_path / "data" / "modelport-artifacts")


def test_a_server_database_takes_the_artifact_root_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = "postgresql+psycopg://ml:secret@db:5432/modelport"
    assert resolve_store(uri).artifact_root == str(tmp_path / "modelport-artifacts")
    monkeypatch.setenv("MODELPORT_ARTIFACT_ROOT", str(tmp_path / "shared"))
    location = resolve_store(uri)
    assert (location.db_uri, location.artifact_root) == (uri, str(tmp_path / "shared"))
    assert location.display_uri == "postgresql+psycopg://ml:***@db:5432/modelport"


def test_passwords_are_masked_for_display() -> None:
    assert redact("postgresql://u:p@h/db") == "postgresql://u:***@h/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact("/srv/ml") == "/srv/ml"


@pytest.mark.parametrize("uri", ["", "  ", "sqlite://", "sqlite:///:memory:"])
def test_unusable_tracking_uris_are_rejected(uri: str) -> None:
    with pytest.raises(InvalidRequestError):
        resolve_store(uri)
