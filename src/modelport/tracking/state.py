"""The tracking state of the process, in one place: the chosen tracking URI, the current
experiment and the stores.

``tracking_state`` is the one instance. ``set_tracking_uri`` and ``set_experiment`` write it;
``TrackingClient()`` without a URI, the fluent API and the ``runs:/``/``models:/`` resolvers read
it. There is one :class:`SqlStore` (one engine, one connection pool) per database and artifact
root, shared by every client of the process. Tests call :meth:`TrackingState.reset` between
tests. The stack of active runs is per thread and stays with the fluent API.
"""

from __future__ import annotations

import os
import threading

from modelport.tracking.config import StoreLocation, resolve_store
from modelport.tracking.store.database import create_store_engine
from modelport.tracking.store.sql import SqlStore


class TrackingState:
    """The tracking URI set by ``set_tracking_uri``, the current experiment, the open stores."""

    def __init__(self) -> None:
        self.tracking_uri: str | None = None
        """Set by ``set_tracking_uri``; None: ``MODELPORT_TRACKING_URI``, else the working dir."""
        self.experiment_name: str | None = None
        """Set by ``set_experiment``; None: ``MODELPORT_EXPERIMENT_NAME``, else Default."""
        self._stores: dict[tuple[str, str], SqlStore] = {}
        self._lock = threading.Lock()

    def location(self) -> StoreLocation:
        """Where the tracking URI in effect points (resolved now: the environment may change)."""
        return resolve_store(self.tracking_uri)

    def store(self, location: StoreLocation | None = None) -> SqlStore:
        """The store of ``location`` (default: the tracking URI in effect), opened once."""
        if location is None:
            location = self.location()
        key = (location.db_uri, str(location.artifact_root))
        with self._lock:
            found = self._stores.get(key)
            if found is None:
                found = SqlStore(create_store_engine(location.db_uri), location.artifact_root)
                self._stores[key] = found
            return found

    def close_stores(self) -> None:
        """Close every database connection of the process (the next use opens the store again)."""
        with self._lock:
            for store in self._stores.values():
                store.engine.dispose()
            self._stores.clear()

    def reset(self) -> None:
        """Forget the tracking URI and the experiment, and close the stores: a fresh process."""
        self.close_stores()
        self.tracking_uri = None
        self.experiment_name = None

    def _after_fork(self) -> None:
        # A forked child must not reuse the parent's connections (SQLAlchemy pools are not
        # fork-safe): the stores stay, each opens new connections on first use. The lock may
        # have been held by another thread of the parent, which the child does not have.
        self._lock = threading.Lock()
        for store in self._stores.values():
            store.engine.dispose(close=False)


tracking_state = TrackingState()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=tracking_state._after_fork)
