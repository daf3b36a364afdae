"""The caller's side of one submitted request: a stream of events, readable sync or async."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeAlias

from modelport.engine import FinishReason, StreamEvent


class _End:
    """Marks the end of a handle's stream."""


END = _End()
_Item: TypeAlias = StreamEvent | BaseException | _End


class GenerationHandle:
    """Events of one request as the engine produces them; iterate it with ``for`` or ``async for``.

    The iteration ends once all ``n`` sequences have finished, or after :meth:`cancel`. An engine
    failure is raised from the iteration (a :class:`~modelport.errors.ModelportError`).
    """

    def __init__(self, prompt_tokens: int, n: int, on_cancel: Callable[[], None]) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens: list[list[int]] = [[] for _ in range(n)]
        self.finish_reasons: list[FinishReason | None] = [None] * n
        self.cancelled = False
        self._on_cancel = on_cancel
        self._items: deque[_Item] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_ready: asyncio.Event | None = None
        self._done = False

    def cancel(self) -> None:
        """Stop generating: the request leaves the batch at the next step and frees its cache."""
        if self.cancelled:
            return
        self.cancelled = True
        self._on_cancel()

    @property
    def finished(self) -> bool:
        """True once every sequence has a finish reason."""
        return all(reason is not None for reason in self.finish_reasons)

    # -- engine side -------------------------------------------------------------------------

    def push(self, item: _Item) -> None:
        with self._lock:
            self._items.append(item)
            self._ready.notify_all()
            loop, ready = self._loop, self._async_ready
        if loop is not None and ready is not None:
            # RuntimeError: the consumer's event loop has closed; nobody is listening.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(ready.set)

    # -- consumer side -----------------------------------------------------------------------

    def __iter__(self) -> Iterator[StreamEvent]:
        while not self._done:
            with self._lock:
                while not self._items:
                    self._ready.wait()
                item = self._items.popleft()
            event = self._settle(item)
            if event is None:
                return
            yield event

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._aiter()

    async def _aiter(self) -> AsyncIterator[StreamEvent]:
        ready = asyncio.Event()
        with self._lock:
            self._loop, self._async_ready = asyncio.get_running_loop(), ready
        while not self._done:
            with self._lock:
                item = self._items.popleft() if self._items else None
                if item is None:
                    ready.clear()
            if item is None:
                await ready.wait()
                continue
            event = self._settle(item)
            if event is None:
                return
            yield event

    def _settle(self, item: _Item) -> StreamEvent | None:
        """The event to yield; None at the end; raises the error that ended the stream."""
        if isinstance(item, _End):
            self._done = True
            return None
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item
