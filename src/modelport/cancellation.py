"""Cooperative cancellation of sync model code.

The server runs a sync ``predict`` in a worker thread, which Python cannot interrupt. When the
request is cancelled (its time limit passed, or its client left), the server cancels the
request's :class:`CancelToken`. Model code that can stop early asks for the current token and
registers what stops it (or polls ``token.cancelled``)::

    from modelport.cancellation import current_token

    handle = engine.submit(prompt_ids, sampling)
    token = current_token()
    if token is not None:
        token.add_callback(handle.cancel)   # runs at once if already cancelled

Outside the server (or for async models, which are cancelled directly) there is no token.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar

log = logging.getLogger(__name__)


class CancelToken:
    """Set once, from any thread; callbacks run once, in the thread that cancels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._callbacks: list[Callable[[], object]] = []

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def add_callback(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the token is cancelled (now, if it already is)."""
        with self._lock:
            if not self._cancelled:
                self._callbacks.append(callback)
                return
        _run(callback)

    def cancel(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _run(callback)


def _run(callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:  # a failing callback must not stop the others, nor the server
        log.exception("a cancellation callback failed")


_current: ContextVar[CancelToken | None] = ContextVar("modelport_cancel_token", default=None)


def current_token() -> CancelToken | None:
    """The token of the request this code runs for, or None outside the server."""
    return _current.get()


@contextlib.contextmanager
def bind_token(token: CancelToken) -> Iterator[CancelToken]:
    """Make ``token`` the current one for the code run inside (the server does this)."""
    reset = _current.set(token)
    try:
        yield token
    finally:
        _current.reset(reset)
