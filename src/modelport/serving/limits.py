"""Back-pressure: at most ``max_concurrency`` requests run, at most ``max_queue`` wait, the rest
are refused with :class:`~modelport.errors.QueueFullError` (429 + ``Retry-After``).

No web imports: the routes take a :class:`Slot` around each model call and release it when the
response (streamed or not) is finished.
"""

from __future__ import annotations

import math
from collections import deque

import anyio

from modelport.errors import (
    InvalidRequestError,
    QueueFullError,
    RequestTimeoutError,
    ServiceUnavailableError,
)


class Slot:
    """A running place taken from a :class:`Limiter`; ``release`` is idempotent."""

    def __init__(self, limiter: Limiter) -> None:
        self._limiter = limiter
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limiter._release()


class Limiter:
    """A FIFO concurrency limit with a bounded waiting queue."""

    def __init__(self, max_concurrency: int, max_queue: int, retry_after: int = 1) -> None:
        if max_concurrency < 1:
            raise InvalidRequestError(
                f"max_concurrency must be at least 1, got {max_concurrency}",
                param="max_concurrency",
            )
        if max_queue < 0:
            raise InvalidRequestError(
                f"max_queue must be 0 or more, got {max_queue}", param="max_queue"
            )
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self.retry_after = retry_after
        self.running = 0
        self._waiters: deque[anyio.Event] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> Slot:
        """Take a running place, waiting in line if needed; refuse when the line is full."""
        if self.running < self.max_concurrency and not self._waiters:
            self.running += 1
            return Slot(self)
        if len(self._waiters) >= self.max_queue:
            raise QueueFullError(
                f"The server is busy: {self.running} requests are running and {self.waiting} "
                f"are waiting (limits: --max-concurrency {self.max_concurrency}, --max-queue "
                f"{self.max_queue}); retry after {self.retry_after}s",
                retry_after=self.retry_after,
            )
        event = anyio.Event()
        self._waiters.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():  # handed a place just as we were cancelled: pass it on
                self._release()
            else:
                self._waiters.remove(event)
            raise
        return Slot(self)

    def _release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # the place goes straight to the next in line
        else:
            self.running -= 1


class Deadline:
    """The time limit of one request (``None``: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._at = anyio.current_time() + seconds if seconds is not None else math.inf

    def remaining(self) -> float:
        return max(self._at - anyio.current_time(), 0.0)

    @property
    def expired(self) -> bool:
        return anyio.current_time() >= self._at

    def error(self) -> RequestTimeoutError:
        return RequestTimeoutError(
            f"The request did not finish within {self.seconds:g}s (--timeout) and was cancelled"
        )


class Shutdown:
    """The end of a drain: when it passes, every request still waiting on its model is cut.

    Work is done inside :meth:`watch` scopes; :meth:`cut` (on the event loop, when the shutdown
    deadline passes) cancels them all, and the code around each scope turns the cancellation
    into :meth:`error`: a 503 for a request not answered yet, an error event for a stream.
    """

    def __init__(self) -> None:
        self.cut_called = False
        self._scopes: set[anyio.CancelScope] = set()

    def watch(self) -> anyio.CancelScope:
        """A cancel scope that :meth:`cut` cancels; leave it with :meth:`forget`."""
        scope = anyio.CancelScope()
        if self.cut_called:
            scope.cancel()
        self._scopes.add(scope)
        return scope

    def forget(self, scope: anyio.CancelScope) -> None:
        self._scopes.discard(scope)

    def cut(self) -> int:
        """Cancel every watched scope; returns how many there were."""
        self.cut_called = True
        scopes, self._scopes = self._scopes, set()
        for scope in scopes:
            scope.cancel()
        return len(scopes)

    @staticmethod
    def error() -> ServiceUnavailableError:
        return ServiceUnavailableError(
            "The server is shutting down and this request did not finish in time (the "
            "--shutdown-timeout passed); retry it",
            code="shutting_down",
        )
