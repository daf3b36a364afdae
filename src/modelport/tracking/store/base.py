"""What every part of the SQL store shares: sessions, retries, error translation, tag checks."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from modelport.errors import AlreadyExistsError, InvalidRequestError
from modelport.tracking.store.database import (
    BUSY_TIMEOUT_S,
    SessionFactory,
    StoreError,
    ensure_schema,
    is_busy,
    with_retries,
)
from modelport.tracking.validation import (
    MAX_TAG_VALUE_LENGTH,
    check_key,
    check_text,
)

MAX_INTEGRITY_RETRIES = 5


def _store_failed(exc: SQLAlchemyError) -> StoreError:
    if isinstance(exc, DBAPIError) and is_busy(exc):
        return StoreError(
            f"The tracking database stayed busy (locked by another writer) for more than "
            f"{BUSY_TIMEOUT_S:.0f} s: {exc.orig}"
        )
    reason = getattr(exc, "orig", None) or exc
    return StoreError(f"The tracking database failed: {type(reason).__name__}: {reason}")


def now_ms() -> int:
    return int(time.time() * 1000)


class SqlBase:
    """An SQLAlchemy engine with the schema in place, and one-transaction helpers."""

    def __init__(self, engine: Engine, artifact_root: str) -> None:
        self.engine = engine
        self.artifact_root = artifact_root
        ensure_schema(engine)
        self.sessions = SessionFactory(engine)

    # --- plumbing -----------------------------------------------------------------------------

    def _write(self, work: Any, *, conflict_retries: int = 0) -> Any:
        """Run ``work(session)`` in one write transaction, retried while the database is busy.

        A unique-key clash with a concurrent writer is retried ``conflict_retries`` times, then
        reported as :class:`AlreadyExistsError`; any other database failure as ``StoreError``.
        """

        def attempt() -> Any:
            with self.sessions.write() as session:
                return work(session)

        for attempt_number in range(conflict_retries + 1):
            try:
                return with_retries(self.engine, attempt)
            except IntegrityError as exc:
                if attempt_number < conflict_retries:
                    continue
                raise AlreadyExistsError(
                    f"The tracking store refused the change (a concurrent or conflicting "
                    f"write): {exc.orig}"
                ) from exc
            except SQLAlchemyError as exc:
                raise _store_failed(exc) from exc
        raise AssertionError("unreachable")

    def _read(self, work: Any) -> Any:
        def attempt() -> Any:
            with self.sessions.read() as session:
                return work(session)

        try:
            return with_retries(self.engine, attempt)
        except SQLAlchemyError as exc:
            raise _store_failed(exc) from exc

    @staticmethod
    def _check_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
        if tags is None:
            return {}
        if not isinstance(tags, Mapping):
            raise InvalidRequestError(
                f"tags must be a dict of key → value, got {type(tags).__name__}", param="tags"
            )
        return {
            check_key(k, "tag key"): check_text(v, f"tag '{k}' value", MAX_TAG_VALUE_LENGTH)
            for k, v in tags.items()
        }
