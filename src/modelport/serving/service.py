"""Running one request against one served model, with the server's limits. No web imports.

``respond`` gives one response object; ``open_stream`` gives a :class:`ChunkStream` whose first
chunk has already arrived (so errors before it become HTTP statuses, not broken streams).

Model code never runs on the event loop: sync calls go to a bounded thread pool. A non-streamed
sync call that is cancelled (time limit, client gone) is abandoned, since Python cannot interrupt
a thread: its result is dropped and its ``modelport.cancellation`` token is cancelled, so model
code that listens to it stops early.
A stream is iterated one item per thread call, so cancelling it (client gone, time limit) waits
for the current step and then closes the model's own stream: generation stops within one step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

from modelport.cancellation import CancelToken, bind_token
from modelport.package.load import LoadedModel, iterate_off_loop
from modelport.serving.limits import Deadline, Limiter, Shutdown, Slot
from modelport.serving.metrics import Metrics
from modelport.serving.served import ServedModel
from modelport.types import StreamOptions
from modelport.types._base import RequestModel, WireModel

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Runtime:
    """What a request needs from the server: limits, the thread pool, metrics."""

    limiter: Limiter
    timeout: float | None = None
    threads: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(64))
    metrics: Metrics | None = None
    shutdown: Shutdown = field(default_factory=Shutdown)

    async def until_shutdown(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work()``, or :meth:`Shutdown.error` if the shutdown deadline passes first."""
        scope = self.shutdown.watch()
        try:
            with scope:
                return await work()
        finally:
            self.shutdown.forget(scope)
        raise self.shutdown.error()  # only reached when the cut cancelled the scope

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_blocking(self.threads, fn, *args)

    async def run_step(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_step(self.threads, fn, *args)


async def run_blocking(threads: anyio.CapacityLimiter, fn: Callable[..., T], *args: Any) -> T:
    """A whole sync call in the pool. If the request is cancelled the call is abandoned (not
    awaited) and its :class:`CancelToken` cancelled, so model code that listens stops."""
    token = CancelToken()

    def call() -> T:
        with bind_token(token):
            return fn(*args)

    try:
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=threads)
    except anyio.get_cancelled_exc_class():
        token.cancel()
        raise


async def run_step(threads: anyio.CapacityLimiter, fn: Callable[..., T], *args: Any) -> T:
    """One step of a sync stream (or its close): always runs to its end, even if cancelled."""
    with anyio.CancelScope(shield=True):
        result = await anyio.to_thread.run_sync(partial(fn, *args), limiter=threads)
    # A real suspension point outside the shield: a pending cancellation (client gone, time
    # limit) lands here. Writing to a closed connection does not suspend, so without this
    # a stream would never notice that it was cancelled.
    await anyio.lowlevel.checkpoint()
    return result


def fill_model_name(item: Any, name: str) -> Any:
    """The served name in a response's or chunk's empty ``model`` field."""
    if isinstance(item, WireModel) and getattr(item, "model", None) == "":
        return item.model_copy(update={"model": name})
    return item


async def _within_limits(runtime: Runtime, work: Callable[[], Awaitable[T]]) -> T:
    """``work()`` holding a concurrency slot, all within the request's time limit."""
    deadline = Deadline(runtime.timeout)
    slot: Slot | None = None

    async def limited() -> T:
        nonlocal slot
        slot = await runtime.limiter.acquire()
        return await work()

    try:
        with anyio.fail_after(None if runtime.timeout is None else deadline.remaining()):
            return await runtime.until_shutdown(limited)
    except TimeoutError:
        raise deadline.error() from None
    finally:
        if slot is not None:
            slot.release()


async def respond(served: ServedModel, request: RequestModel, runtime: Runtime) -> WireModel:
    """One chat.completion / text_completion for one request, within the limits."""
    response = await _within_limits(
        runtime, lambda: served.loaded.acall(request, runtime.run_blocking)
    )
    if runtime.metrics is not None:
        runtime.metrics.observe_usage(served.name, getattr(response, "usage", None))
    return fill_model_name(response, served.name)


async def predict(
    loaded: LoadedModel, data: Any, params: dict[str, Any] | None, runtime: Runtime
) -> Any:
    """A generic PythonModel's ``predict`` within the limits."""
    return await _within_limits(runtime, lambda: runtime.run_blocking(loaded.predict, data, params))


class ChunkStream:
    """A started stream: its first item has arrived; iterate for the rest, then ``aclose``."""

    def __init__(
        self,
        source: AsyncIterator[Any],
        slot: Slot,
        deadline: Deadline,
        *,
        model_name: str | None = None,
        include_usage: bool = False,
        runtime: Runtime | None = None,
    ) -> None:
        self._source = source
        self._slot = slot
        self._deadline = deadline
        self._model_name = model_name
        self._include_usage = include_usage
        self._runtime = runtime
        self._first: list[Any] = []
        self._started = time.perf_counter()
        self._closed = False
        self._stream_id: tuple[str, int] | None = None

    async def _next(self) -> Any:
        """The next item within the deadline (and before the server's shutdown cut);
        StopAsyncIteration at the end."""
        if self._runtime is not None:
            return await self._runtime.until_shutdown(self._next_in_time)
        return await self._next_in_time()

    async def _next_in_time(self) -> Any:
        if self._deadline.seconds is None:
            return await self._source.__anext__()
        with anyio.move_on_after(self._deadline.remaining()) as scope:
            item = await self._source.__anext__()
        if scope.cancel_called:
            raise self._deadline.error()
        return item

    async def start(self) -> None:
        """Wait for the first item (an error here is still an HTTP status)."""
        try:
            first = await self._next()
        except StopAsyncIteration:
            return
        if self._model_name is not None and self._runtime and self._runtime.metrics:
            self._runtime.metrics.time_to_first_token.labels(self._model_name).observe(
                time.perf_counter() - self._started
            )
        self._first.append(first)

    def _shape(self, item: Any) -> Any | None:
        if self._model_name is None:
            return item
        usage = getattr(item, "usage", None)
        if usage is not None and self._runtime is not None and self._runtime.metrics is not None:
            self._runtime.metrics.observe_usage(self._model_name, usage)
        if usage is not None and not self._include_usage:
            if not getattr(item, "choices", None):
                return None
            item = item.model_copy(update={"usage": None})
        if isinstance(item, WireModel) and hasattr(item, "id"):
            # one id and one creation time for the whole stream, as OpenAI sends
            if self._stream_id is None:
                self._stream_id = (item.id, item.created)  # type: ignore[attr-defined]
            elif (item.id, item.created) != self._stream_id:  # type: ignore[attr-defined]
                item = item.model_copy(
                    update={"id": self._stream_id[0], "created": self._stream_id[1]}
                )
        return fill_model_name(item, self._model_name)

    async def __aiter__(self) -> AsyncIterator[Any]:
        while self._first:
            shaped = self._shape(self._first.pop(0))
            if shaped is not None:
                yield shaped
        while True:
            try:
                item = await self._next()
            except StopAsyncIteration:
                return
            shaped = self._shape(item)
            if shaped is not None:
                yield shaped

    async def aclose(self) -> None:
        """Close the model's stream (stopping its generation) and give the place back."""
        if self._closed:
            return
        self._closed = True
        try:
            with anyio.CancelScope(shield=True):
                aclose = getattr(self._source, "aclose", None)
                if aclose is not None:
                    await aclose()
        finally:
            self._slot.release()


async def _start(
    source_factory: Callable[[], AsyncIterator[Any]],
    runtime: Runtime,
    **options: Any,
) -> ChunkStream:
    deadline = Deadline(runtime.timeout)
    try:
        with anyio.fail_after(None if runtime.timeout is None else deadline.remaining()):
            slot = await runtime.limiter.acquire()
    except TimeoutError:
        raise deadline.error() from None
    stream = ChunkStream(source_factory(), slot, deadline, runtime=runtime, **options)
    try:
        await stream.start()
    except BaseException:
        await stream.aclose()
        raise
    return stream


async def open_stream(served: ServedModel, request: RequestModel, runtime: Runtime) -> ChunkStream:
    """Start streaming a chat/completions request. Usage is always asked of the model (for the
    metrics) and passed on only when the client asked for it."""
    include_usage = bool(getattr(request, "include_usage", False))
    asked = request.model_copy(update={"stream_options": StreamOptions(include_usage=True)})
    return await _start(
        lambda: served.loaded.astream(asked, runtime.run_step),
        runtime,
        model_name=served.name,
        include_usage=include_usage,
    )


async def open_predict_stream(
    loaded: LoadedModel, data: Any, params: dict[str, Any] | None, runtime: Runtime
) -> ChunkStream:
    """Start a generic PythonModel's ``predict_stream``."""
    return await _start(
        lambda: iterate_off_loop(loaded.predict_stream(data, params), runtime.run_step), runtime
    )
