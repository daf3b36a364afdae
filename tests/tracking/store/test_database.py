"""The database layer: engines, WAL on SQLite, schema applied on first use and recorded, upgrades."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from modelport.errors import InvalidRequestError
from modelport.tracking import TrackingClient
from modelport.tracking.store import database
from modelport.tracking.store.models import Base


def test_head_revision_is_the_newest_migration_script() -> None:
    from alembic.config import Config

    config = Config(str(database.ALEMBIC_INI))
    config.set_main_option("script_location", str(database.MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == database.HEAD_REVISION


def test_the_schema_is_created_on_first_use_and_recorded(store_uri: str, tmp_path: Path) -> None:
    TrackingClient(store_uri, artifact_root=tmp_path / "artifacts").search_experiments()
    engine = create_engine(store_uri)
    with engine.connect() as connection:
        assert database.current_revision(connection) == database.HEAD_REVISION
        # The ORM classes describe exactly the migrated schema.
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_a_database_at_the_first_revision_upgrades_with_its_data(
    store_uri: str, tmp_path: Path
) -> None:
    engine = database.create_store_engine(store_uri)
    database.upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                "creation_time, last_update_time) VALUES ('old', '/tmp/old', 'active', 1, 1)"
            )
        )
        experiment_id = connection.execute(text("SELECT experiment_id FROM experiments")).scalar()
        connection.execute(
            text(
                "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, "
                "artifact_uri) VALUES (:run, :exp, 'kept', 'FINISHED', 5, '/tmp/old/r')"
            ),
            {"run": "a" * 32, "exp": experiment_id},
        )
        connection.execute(
            text(
                "INSERT INTO metrics (run_id, key, value, step, timestamp) "
                "VALUES (:run, 'loss', 0.25, 3, 7)"
            ),
            {"run": "a" * 32},
        )
        assert database.current_revision(connection) == "0001"
    engine.dispose()

    client = TrackingClient(store_uri, artifact_root=tmp_path / "artifacts")  # upgrades
    run = client.get_run("a" * 32)
    assert (run.info.run_name, run.data.metrics) == ("kept", {"loss": 0.25})
    # The tables of revision 0002 work on the upgraded database.
    assert client.search_registered_models() == []
    client.create_registered_model("after-upgrade")
    assert [m.name for m in client.search_registered_models()] == ["after-upgrade"]


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    engine = database.create_store_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_database_newer_than_this_modelport_is_refused(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'future.db'}"
    engine = create_engine(uri)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999')"))
    engine.dispose()
    with pytest.raises(database.StoreError, match="revision 9999, newer"):
        TrackingClient(uri)


def test_an_invalid_database_uri_is_rejected_with_the_accepted_forms() -> None:
    with pytest.raises(InvalidRequestError, match="postgresql\\+psycopg://"):
        database.create_store_engine("not a url")


def test_an_unreachable_database_raises_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(database.StoreError, match="Cannot open the tracking database") as caught:
        TrackingClient("postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none?connect_timeout=2")
    assert "s3cret" not in caught.value.message
    assert caught.value.status_code == 503


def test_a_writer_waits_for_a_busy_sqlite_database_instead_of_failing(tmp_path: Path) -> None:
    import sqlite3
    import threading
    import time

    client = TrackingClient(tmp_path / "store")
    run = client.create_run(client.create_experiment("exp"))
    blocker = sqlite3.connect(
        tmp_path / "store" / "modelport.db", isolation_level=None, check_same_thread=False
    )
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    release = threading.Timer(0.5, lambda: blocker.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        client.log_metric(run.run_id, "loss", 1.0)
    finally:
        release.join()
        blocker.close()
    assert time.monotonic() - started >= 0.4
    assert client.get_run(run.run_id).data.metrics == {"loss": 1.0}


def test_a_database_locked_for_too_long_fails_with_a_store_error_in_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3
    import time

    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.3)
    client = TrackingClient(f"sqlite:///{tmp_path / 'short.db'}")
    run = client.create_run(client.create_experiment("exp"))
    for connection in (client.store.engine.raw_connection(),):
        connection.driver_connection.execute("PRAGMA busy_timeout = 100")  # type: ignore[union-attr]
        connection.close()
    blocker = sqlite3.connect(tmp_path / "short.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    try:
        with pytest.raises(database.StoreError, match="stayed busy"):
            client.log_metric(run.run_id, "loss", 1.0)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert time.monotonic() - started < 5
