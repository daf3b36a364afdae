"""The tracking database: engines (SQLite tuned for several writers, PostgreSQL as is), bounded
busy retries and the schema migrations.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` so that two writers queue for the lock instead of
failing on upgrade; a transaction that still meets "database is locked" is retried (bounded).
Migrations run on first use, under a lock (the SQLite write lock, or a PostgreSQL advisory
lock), so that processes starting together upgrade the schema exactly once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from modelport.errors import InvalidRequestError, ServiceUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"
HEAD_REVISION = "0002"
"""The newest migration (a test checks it against the scripts in ``migrations/versions``)."""

BUSY_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 8
_ADVISORY_LOCK_KEY = 0x6D6F64656C706F  # "modelpo"

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class StoreError(ServiceUnavailableError):
    """The tracking database cannot be reached or used (a 503 in the error tree)."""

    default_code = "tracking_store_unavailable"


def create_store_engine(db_uri: str) -> Engine:
    """An engine for ``sqlite:///…`` or ``postgresql+psycopg://…`` (other SQLAlchemy URLs too)."""
    try:
        url = make_url(db_uri)
    except ArgumentError as exc:
        raise InvalidRequestError(
            f"Invalid tracking database URI {db_uri!r} ({exc}); use sqlite:///path.db or "
            "postgresql+psycopg://user:password@host:5432/db"
        ) from None
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Pooled connections, each used by one thread at a time (checked out per transaction).
        engine = create_engine(
            url,
            pool_size=2,
            max_overflow=8,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"The tracking URI {url.render_as_string(hide_password=True)} needs a database "
            f"driver that is not installed ({exc}); for PostgreSQL: "
            "pip install 'modelport[postgres]'"
        ) from None


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (the driver's implicit BEGIN is DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    if connection.get_execution_options().get("modelport_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_busy(exc: DBAPIError) -> bool:
    """Whether the database refused for now (locked, serialisation clash), not for good."""
    message = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return any(
        marker in message
        for marker in (
            "database is locked",
            "database table is locked",
            "could not serialize",
            "deadlock detected",
            "busy",
        )
    )


def with_retries(engine: Engine, work: Callable[[], T]) -> T:
    """Run ``work`` (one transaction), again after a short pause when the database was busy.

    Retries stop after ``MAX_ATTEMPTS`` or once ``BUSY_TIMEOUT_S`` has passed in all, so a
    database held by another writer fails within about that time.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return work()
        except OperationalError as exc:
            if attempt == MAX_ATTEMPTS or not is_busy(exc) or time.monotonic() >= deadline:
                raise
            pause = min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0)
            log.debug("tracking database busy (%s); retry %d in %.2fs", exc.orig, attempt, pause)
            time.sleep(pause)
    raise AssertionError("unreachable")


class SessionFactory:
    """Sessions on one engine: ``write()`` (serialised on SQLite) and ``read()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = sessionmaker(bind=engine, expire_on_commit=False)
        self._read = sessionmaker(
            bind=engine.execution_options(modelport_read_only=True), expire_on_commit=False
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else None


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest), under a cross-process lock."""
    from alembic import command

    def run() -> None:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                )
            before = current_revision(connection)
            if before == (HEAD_REVISION if revision == "head" else revision):
                return
            command.upgrade(_alembic_config(connection), revision)
            log.info(
                "tracking store %s migrated from %s to %s",
                engine.url.render_as_string(hide_password=True),
                before or "an empty database",
                current_revision(connection),
            )

    with_retries(engine, run)


def ensure_schema(engine: Engine) -> None:
    """Apply pending migrations once per process and database (a no-op when up to date)."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _migrated:
        return
    with _migrate_lock:
        if key in _migrated:
            return

        def read_revision() -> str | None:
            with engine.connect().execution_options(modelport_read_only=True) as connection:
                return current_revision(connection)

        try:
            # Opening a new SQLite file switches it to WAL, which needs the lock for a moment:
            # processes starting together may meet "database is locked" here, so retry.
            revision = with_retries(engine, read_revision)
        except OperationalError as exc:
            raise StoreError(
                f"Cannot open the tracking database "
                f"{engine.url.render_as_string(hide_password=True)}: {exc.orig}"
            ) from None
        if revision != HEAD_REVISION:
            if revision is not None and revision > HEAD_REVISION:
                raise StoreError(
                    f"The tracking database is at schema revision {revision}, newer than this "
                    f"modelport understands ({HEAD_REVISION}); upgrade modelport"
                )
            upgrade(engine)
        _migrated.add(key)
