"""The two kinds of Ray Serve deployment: one per served model, holding the loaded model (and its
batching engine) in each replica, and the ingress, which runs modelport's own FastAPI app over
handles to them.

The ingress serves exactly the app ``modelport serve`` serves (routes, errors, limits, API key,
request ids, metrics); its models are :class:`RemoteModel` objects, ``LoadedModel``s whose calls
go through a deployment handle to a replica of the model's deployment. Requests and responses
travel as the typed wire objects (pickled by Ray), errors as modelport's own exceptions.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextvars import ContextVar
from functools import partial
from typing import Any

import anyio

from modelport.errors import (
    ModelportError,
    QueueFullError,
    ServiceUnavailableError,
)
from modelport.model import Context, PythonModel
from modelport.package.load import LoadedModel, RunSync, load_model
from modelport.package.manifest import Manifest
from modelport.serving.service import run_blocking, run_step
from modelport.types._base import RequestModel, WireModel

REPLICA_HEADER = "X-Modelport-Replica"
# Per HTTP request: the replica that answered, written by RemoteModel, sent by ReplicaHeader.
_ANSWERED_BY: ContextVar[dict[str, str] | None] = ContextVar("answered_by", default=None)


def _replica_id() -> str:
    try:
        from ray import serve

        return str(serve.get_replica_context().replica_id.unique_id)
    except Exception:  # outside a replica (tests calling the class directly)
        return f"pid-{os.getpid()}"


class ModelReplica:
    """One replica of a served model: the model loaded as ``load_model(uri, **options)``.

    A sync model's calls (and each step of its streams) run in the pool the one-process server
    uses, with as many threads as the requests the replica takes at once (``concurrency``):
    asyncio's default pool has only ``cores + 4``, which would cap the rows the batching engine
    ever sees together."""

    def __init__(
        self, name: str, uri: str, options: Mapping[str, Any], concurrency: int = 64
    ) -> None:
        self.name = name
        self.loaded = load_model(uri, **dict(options))
        self.replica = _replica_id()
        self.threads = anyio.CapacityLimiter(concurrency + 4)

    def describe(self) -> dict[str, Any]:
        """What the ingress needs to know to serve the model: its manifest and engine."""
        return {
            "manifest": self.loaded.metadata.to_dict(),
            "engine": self.loaded.engine_info(),
            "replica": self.replica,
        }

    async def call(self, request: RequestModel) -> tuple[WireModel, str]:
        return await self.loaded.acall(request, partial(run_blocking, self.threads)), self.replica

    async def stream(self, request: RequestModel) -> AsyncIterator[WireModel | str]:
        """The request's chunks; cancelled by the ingress (client gone), the model's stream is
        closed, which stops the generation on this replica."""
        yield self.replica  # first: who is answering (the X-Modelport-Replica header)
        stream = self.loaded.astream(request, partial(run_step, self.threads))
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def predict(self, data: Any, params: Mapping[str, Any] | None) -> Any:
        return self.loaded.predict(data, params)

    def predict_stream(self, data: Any, params: Mapping[str, Any] | None) -> Iterator[Any]:
        yield from self.loaded.predict_stream(data, params)

    def stats(self) -> dict[str, float] | None:
        return self.loaded.stats()

    def __del__(self) -> None:
        loaded = getattr(self, "loaded", None)
        if loaded is not None:
            loaded.close()


def _translated(exc: BaseException) -> BaseException:
    """A replica's failure as the modelport error a client should get."""
    from ray.exceptions import RayActorError, RayTaskError
    from ray.serve.exceptions import BackPressureError

    if isinstance(exc, RayTaskError) and isinstance(exc.cause, ModelportError):
        return exc.cause
    if isinstance(exc, ModelportError):
        return exc
    if isinstance(exc, BackPressureError):
        return QueueFullError(
            "Too many requests are waiting for this model's replicas; retry shortly",
            retry_after=1,
        )
    if isinstance(exc, RayActorError):
        return ServiceUnavailableError(
            "The replica serving this request stopped; retry (Ray is replacing it)"
        )
    if isinstance(exc, RayTaskError):
        return ServiceUnavailableError(f"The model's replica failed: {exc.cause!r}")
    return exc


def _answered_by(replica: str) -> None:
    holder = _ANSWERED_BY.get()
    if holder is not None:
        holder["replica"] = replica


class ReplicaHeader:
    """ASGI middleware: each response says which replica of the model answered it
    (``X-Modelport-Replica``), so a client or a test can see requests spread over replicas."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder: dict[str, str] = {}
        token = _ANSWERED_BY.set(holder)

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start" and "replica" in holder:
                headers = list(message.get("headers", []))
                headers.append((REPLICA_HEADER.lower().encode(), holder["replica"].encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            _ANSWERED_BY.reset(token)


class _Remote(PythonModel):
    """Stands in for the model object inside :class:`RemoteModel` (never called)."""

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        raise NotImplementedError


class RemoteModel(LoadedModel):
    """A model served by a Ray Serve deployment, as the server sees a loaded model."""

    def __init__(
        self, handle: Any, description: Mapping[str, Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        manifest = Manifest.from_dict(description["manifest"], where="the replica's manifest")
        super().__init__(_Remote(), Context(), manifest)
        self._handle = handle
        self._loop = loop
        self._engine = description.get("engine")

    async def acall(self, request: RequestModel, run_sync: RunSync | None = None) -> WireModel:
        try:
            response, replica = await self._handle.call.remote(request)
        except BaseException as exc:
            raise _translated(exc) from None
        _answered_by(replica)
        result: WireModel = response
        return result

    async def astream(
        self, request: RequestModel, run_sync: RunSync | None = None
    ) -> AsyncIterator[WireModel]:
        chunks = self._handle.options(stream=True).stream.remote(request)
        try:
            async for chunk in chunks:
                if isinstance(chunk, str):
                    _answered_by(chunk)
                else:
                    yield chunk
        except BaseException as exc:
            if isinstance(exc, (GeneratorExit, asyncio.CancelledError)):
                raise
            raise _translated(exc) from None
        finally:
            chunks.cancel()  # the client went away: stop the generation on the replica

    def _on_loop(self, work: Any) -> Any:
        """Run the coroutine ``work`` on the ingress's event loop and wait for it (the server
        calls ``predict`` in a worker thread; handles are used from their own loop)."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        async def call() -> Any:
            return await self._handle.predict.remote(data, params)

        try:
            return self._on_loop(call())
        except BaseException as exc:
            raise _translated(exc) from None

    def predict_stream(self, data: Any, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        async def start() -> Any:
            return self._handle.options(stream=True).predict_stream.remote(data, params)

        items = self._on_loop(start())
        done = object()

        async def next_item() -> Any:
            try:
                return await items.__anext__()
            except StopAsyncIteration:
                return done

        try:
            while (item := self._on_loop(next_item())) is not done:
                yield item
        except Exception as exc:
            raise _translated(exc) from None
        finally:
            items.cancel()

    def stats(self) -> dict[str, float] | None:
        return None  # each replica's engine counters are its own; Ray's metrics have them

    def engine_info(self) -> dict[str, str] | None:
        engine = self._engine
        return dict(engine) if isinstance(engine, Mapping) else None

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"RemoteModel(flavor={self.metadata.flavor!r}, task={self.task!r})"


class Ingress:
    """The HTTP entry point: modelport's app over handles to the models' deployments."""

    def __init__(self, handles: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        self._handles = dict(handles)
        self._settings = dict(settings)
        self._app: Any = None

    async def _describe(self) -> dict[str, RemoteModel]:
        descriptions = await asyncio.gather(
            *(handle.describe.remote() for handle in self._handles.values())
        )
        loop = asyncio.get_running_loop()
        return {
            name: RemoteModel(handle, description, loop)
            for (name, handle), description in zip(self._handles.items(), descriptions, strict=True)
        }

    async def __serve_build_asgi_app__(self) -> Any:
        from modelport.serving import ServerConfig, create_app

        models = await self._describe()
        self._app = create_app(ServerConfig(models=models, **self._settings))
        self._app.add_middleware(ReplicaHeader)
        return self._app
