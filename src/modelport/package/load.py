"""``load_model(uri, **options) -> LoadedModel``: the one path from a package to predictions.

Every entry point (Python API, CLI, server) goes through it; ``options`` reach the package's
flavor (see :mod:`modelport.flavors`). For an ``llm/v1/chat`` model every
request, whatever its route, becomes one ``ChatCompletionRequest`` handed to :meth:`LoadedModel.chat`
or :meth:`LoadedModel.chat_stream` (and their ``a``-prefixed async forms, used by the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from modelport.errors import InvalidRequestError, ModelExecutionError, ModelportError, PackageError
from modelport.flavors import get_flavor, parse_load_options
from modelport.model import Context, PythonModel, call_with_context, implements_stream
from modelport.package.manifest import Manifest
from modelport.package.uri import resolve_model_uri
from modelport.signature import Signature, enforce_input, enforce_params
from modelport.types import (
    ChatChoiceDelta,
    ChatChunkChoice,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
)
from modelport.types._base import RequestModel, WireModel

T = TypeVar("T")
RunSync = Callable[..., Awaitable[Any]]


async def iterate_off_loop(iterator: Iterator[T], run_sync: RunSync) -> AsyncGenerator[T, None]:
    """A sync iterator, each step (and its close) run by ``run_sync`` off the event loop;
    closing this closes the iterator."""
    sentinel = object()
    try:
        while True:
            item = await run_sync(next, iterator, sentinel)
            if item is sentinel:
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            await run_sync(close)


def _model_failed(exc: BaseException) -> ModelportError:
    if isinstance(exc, ModelportError):
        return exc
    error = ModelExecutionError(f"The model raised {type(exc).__name__} while predicting")
    error.__cause__ = exc
    return error


def _run_coroutine(coro: Awaitable[T]) -> T:
    """Run an async model's coroutine from sync code (in a helper thread if a loop is running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return,unused-ignore]


def _close(iterator: object) -> None:
    """Close a generator (or anything with ``close``); a plain iterator has nothing to close."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _check_params(params: object) -> None:
    if params is not None and not isinstance(params, Mapping):
        raise InvalidRequestError(
            f"params must be a dict, got {type(params).__name__}", param="params"
        )


def _iterate_async(agen: AsyncIterator[T]) -> Iterator[T]:
    """Drive an async generator from sync code on a private event loop."""
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(agen.__anext__())
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            loop.run_until_complete(aclose())
        loop.close()


class _OneIdentity:
    """Gives every chunk of one stream the id and creation time of its first, as OpenAI does."""

    def __init__(self) -> None:
        self._identity: tuple[str, int] | None = None

    def __call__(self, chunk: WireModel) -> WireModel:
        identity = (getattr(chunk, "id", None), getattr(chunk, "created", None))
        if not isinstance(identity[0], str) or not isinstance(identity[1], int):
            return chunk
        if self._identity is None:
            self._identity = (identity[0], identity[1])
        elif identity != self._identity:
            chunk = chunk.model_copy(update={"id": self._identity[0], "created": self._identity[1]})
        return chunk


@dataclass(frozen=True)
class _Task:
    """How one LLM task maps requests to the model's arguments and back."""

    request_type: type[RequestModel]
    response_type: type[WireModel]
    chunk_type: type[WireModel]
    arguments: Callable[[Any], tuple[Any, Any]]
    fallback_chunks: Callable[[Any], list[Any]]


def _chat_fallback(response: ChatCompletionResponse) -> list[ChatCompletionChunk]:
    chunks = [
        ChatCompletionChunk(
            id=response.id,
            created=response.created,
            model=response.model,
            choices=[
                ChatChunkChoice(
                    index=choice.index,
                    delta=ChatChoiceDelta(
                        role="assistant",
                        content=choice.message.content
                        if isinstance(choice.message.content, str)
                        else choice.message.text or None,
                        tool_calls=[
                            {
                                "index": i,
                                "id": call.id,
                                "type": "function",
                                "function": call.function.model_dump(),
                            }
                            for i, call in enumerate(choice.message.tool_calls)
                        ]
                        if choice.message.tool_calls
                        else None,
                        refusal=choice.message.refusal,
                    ),
                    finish_reason=choice.finish_reason,
                    logprobs=choice.logprobs,
                )
            ],
            custom_outputs=response.custom_outputs if i == 0 else None,
        )
        for i, choice in enumerate(response.choices)
    ]
    if response.usage is not None:
        chunks.append(
            ChatCompletionChunk(
                id=response.id, created=response.created, model=response.model, usage=response.usage
            )
        )
    return chunks


def _completion_fallback(response: CompletionResponse) -> list[CompletionChunk]:
    chunks = [
        CompletionChunk(
            id=response.id, created=response.created, model=response.model, choices=[choice]
        )
        for choice in response.choices
    ]
    if response.usage is not None:
        chunks.append(
            CompletionChunk(
                id=response.id,
                created=response.created,
                model=response.model,
                choices=[],
                usage=response.usage,
            )
        )
    return chunks


CHAT = _Task(
    request_type=ChatCompletionRequest,
    response_type=ChatCompletionResponse,
    chunk_type=ChatCompletionChunk,
    arguments=lambda r: (r.messages, r.params),
    fallback_chunks=_chat_fallback,
)
COMPLETIONS = _Task(
    request_type=CompletionRequest,
    response_type=CompletionResponse,
    chunk_type=CompletionChunk,
    arguments=lambda r: (r.prompts, r.params),
    fallback_chunks=_completion_fallback,
)
_TASKS = {"llm/v1/chat": CHAT, "llm/v1/completions": COMPLETIONS}


class LoadedModel:
    """A model loaded from a package: ``predict``, ``predict_stream``, ``metadata``."""

    def __init__(
        self, model: PythonModel, context: Context, manifest: Manifest, path: Path | None = None
    ) -> None:
        self._model = model
        self._context = context
        self.metadata = manifest
        self.path = path
        self._task = _TASKS.get(manifest.task or "")

    @classmethod
    def for_saving(
        cls,
        model: PythonModel,
        context: Context,
        task: str | None,
        signature: Signature | None = None,
    ) -> LoadedModel:
        """A LoadedModel over a model being saved (runs ``load_context`` now).

        With ``signature`` the save-time ``predict`` sees its input enforced exactly as it will
        after loading.
        """
        try:
            model.load_context(context)
        except ModelportError:
            raise
        except Exception as exc:
            raise PackageError(
                f"load_context() of {type(model).__name__} failed at save time: {exc!r}"
            ) from exc
        return cls(model, context, Manifest(flavor="python", task=task, signature=signature))

    # --- generic API (any task) -------------------------------------------------------------

    @property
    def task(self) -> str | None:
        return self.metadata.task

    def unwrap_python_model(self) -> PythonModel:
        """The user's model object itself."""
        return self._model

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Predict. For a chat model ``data`` is the request dict and ONE response dict is returned."""
        if self._task is not None:
            request = self._request(data, params)
            return self._call(request).to_dict()
        return self._run_predict(*self._enforce(data, params))

    def predict_stream(self, data: Any, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Stream. For LLM tasks, chunk dicts; a model without ``predict_stream`` gives one chunk.

        The input is validated now (a bad request raises here, not at the first ``next``); the
        model runs as the stream is read.
        """
        if self._task is not None:
            chunks = self._stream(self._request(data, params))
            return (chunk.to_dict() for chunk in chunks)
        model_input, enforced = self._enforce(data, params)
        if not implements_stream(self._model):
            return self._predict_once(model_input, enforced)
        return self._iterate_model_stream(
            lambda: call_with_context(
                self._model.predict_stream, self._context, model_input, enforced
            )
        )

    def _predict_once(self, model_input: Any, enforced: Any) -> Iterator[Any]:
        yield self._run_predict(model_input, enforced)

    def predict_for_save(self, data: Any, params: Mapping[str, Any] | None) -> Any:
        """Run predict on a save-time example, checking the LLM response type strictly."""
        if self._task is None:
            return self.predict(data, params)
        request = self._request(data, params)
        try:
            result = self._invoke(request)
        except ModelExecutionError as exc:
            # the author is the reader here: show the model's own error, not the safe message
            raise PackageError(
                f"{type(self._model).__name__}.predict() failed on the input example at save "
                f"time: {exc.__cause__!r}"
            ) from exc.__cause__
        if not isinstance(result, self._task.response_type):
            raise PackageError(
                f"{type(self._model).__name__}.predict() must return a "
                f"{self._task.response_type.__name__}, got {type(result).__name__}"
                + (
                    f" {str(result)[:100]}: build one with "
                    f"{self._task.response_type.__name__}.from_dict(the_dict)"
                    if isinstance(result, Mapping)
                    else ""
                )
            )
        return result

    # --- typed LLM API ----------------------------------------------------------------------

    def chat(self, request: ChatCompletionRequest | Mapping[str, Any]) -> ChatCompletionResponse:
        """One ``chat.completion`` for one chat request."""
        return self._call(self._typed_request("llm/v1/chat", request))  # type: ignore[return-value]

    def chat_stream(
        self, request: ChatCompletionRequest | Mapping[str, Any]
    ) -> Iterator[ChatCompletionChunk]:
        """The chunks of a streamed chat completion."""
        return self._stream(self._typed_request("llm/v1/chat", request))  # type: ignore[return-value]

    def complete(self, request: CompletionRequest | Mapping[str, Any]) -> CompletionResponse:
        return self._call(self._typed_request("llm/v1/completions", request))  # type: ignore[return-value]

    def complete_stream(
        self, request: CompletionRequest | Mapping[str, Any]
    ) -> Iterator[CompletionChunk]:
        return self._stream(self._typed_request("llm/v1/completions", request))  # type: ignore[return-value]

    @property
    def is_async(self) -> bool:
        """Whether the model's ``predict`` is ``async def`` (the server awaits it on the loop)."""
        return inspect.iscoroutinefunction(self._model.predict)

    async def acall(self, request: RequestModel, run_sync: RunSync | None = None) -> WireModel:
        """Async form of chat/complete: awaits an async model, runs a sync one via ``run_sync``."""
        task = self._require_task(type(request))
        if self.is_async:
            try:
                args = task.arguments(request)
                result = await call_with_context(self._model.predict, self._context, *args)
            except Exception as exc:
                raise _model_failed(exc) from exc
            return self._check_response(result)
        runner = run_sync or asyncio.to_thread
        return await runner(self._call, request)  # type: ignore[no-any-return,unused-ignore]

    async def astream(
        self, request: RequestModel, run_sync: RunSync | None = None
    ) -> AsyncIterator[WireModel]:
        """Async form of the streams; a sync stream is iterated off the event loop.

        Closing this iterator (client gone, timeout) closes the model's own stream.
        """
        task = self._require_task(type(request))
        runner = run_sync or asyncio.to_thread
        stream_fn = getattr(self._model, "predict_stream", None)
        if implements_stream(self._model) and inspect.isasyncgenfunction(stream_fn):
            agen = call_with_context(stream_fn, self._context, *task.arguments(request))
            same_identity = _OneIdentity()
            try:
                async for item in agen:
                    chunk = self._filter_chunk(request, item)
                    if chunk is not None:
                        yield same_identity(chunk)
            except Exception as exc:
                raise _model_failed(exc) from exc
            finally:
                await agen.aclose()
            return
        if not implements_stream(self._model) and self.is_async:
            response = await self.acall(request, run_sync)
            for chunk in task.fallback_chunks(response):
                kept = self._filter_chunk(request, chunk)
                if kept is not None:
                    yield kept
            return
        async with contextlib.aclosing(iterate_off_loop(self._stream(request), runner)) as items:
            async for item in items:
                yield item

    # --- internals --------------------------------------------------------------------------

    def _enforce(self, data: Any, params: Mapping[str, Any] | None) -> tuple[Any, Any]:
        _check_params(params)
        signature = self.metadata.signature
        if signature is None:
            return data, dict(params) if params is not None else None
        return enforce_input(signature.inputs, data), enforce_params(signature.params, params)

    def _require_task(self, request_type: type) -> _Task:
        if self._task is None or not issubclass(request_type, self._task.request_type):
            raise InvalidRequestError(
                f"This model's task is {self.task or 'a custom PythonModel'}; it does not take "
                f"{request_type.__name__}"
            )
        return self._task

    def _typed_request(self, task: str, request: Any) -> RequestModel:
        expected = _TASKS[task]
        if self._task is not expected:
            raise InvalidRequestError(
                f"This model's task is {self.task or 'a custom PythonModel'}, not {task}"
            )
        return expected.request_type.parse(request)

    def _request(self, data: Any, params: Mapping[str, Any] | None) -> RequestModel:
        assert self._task is not None
        if isinstance(data, self._task.request_type) and not params:
            return data
        if isinstance(data, WireModel):
            data = data.model_dump(exclude_none=True)
        if not isinstance(data, Mapping):
            raise InvalidRequestError(
                f"A {self.task} model takes one request object (a dict), got {type(data).__name__}"
            )
        _check_params(params)
        return self._task.request_type.parse({**data, **(params or {})})

    def _run_predict(self, *args: Any) -> Any:
        """Call the model's ``predict`` (awaiting an async one); its errors become modelport's."""
        try:
            result = call_with_context(self._model.predict, self._context, *args)
            if inspect.isawaitable(result):
                result = _run_coroutine(result)
        except Exception as exc:
            raise _model_failed(exc) from exc
        return result

    def _invoke(self, request: RequestModel) -> Any:
        assert self._task is not None
        return self._run_predict(*self._task.arguments(request))

    def _check_response(self, result: Any) -> WireModel:
        assert self._task is not None
        if isinstance(result, self._task.response_type):
            return result
        if isinstance(result, Mapping):
            try:
                return self._task.response_type.parse(result)
            except InvalidRequestError as exc:
                raise ModelExecutionError(
                    f"The model returned an invalid response: {exc.message}"
                ) from exc
        raise ModelExecutionError(
            f"The model returned {type(result).__name__}, not a {self._task.response_type.__name__}"
        )

    def _call(self, request: RequestModel) -> WireModel:
        return self._check_response(self._invoke(request))

    def _filter_chunk(self, request: RequestModel, item: Any) -> WireModel | None:
        assert self._task is not None
        chunk = item if isinstance(item, self._task.chunk_type) else None
        if chunk is None:
            try:
                chunk = self._task.chunk_type.parse(item)
            except InvalidRequestError as exc:
                raise ModelExecutionError(
                    f"The model streamed an invalid chunk: {exc.message}"
                ) from exc
        if not getattr(request, "include_usage", False) and getattr(chunk, "usage", None):
            if not getattr(chunk, "choices", None):
                return None  # a usage-only chunk the client did not ask for
            chunk = chunk.model_copy(update={"usage": None})
        return chunk

    def _iterate_model_stream(self, start: Callable[[], Any]) -> Iterator[Any]:
        try:
            stream = start()
            iterator = _iterate_async(stream) if inspect.isasyncgen(stream) else iter(stream)
        except Exception as exc:
            raise _model_failed(exc) from exc
        try:
            while True:
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                except Exception as exc:
                    raise _model_failed(exc) from exc
                yield item
        finally:
            _close(iterator)

    def _stream(self, request: RequestModel) -> Iterator[WireModel]:
        assert self._task is not None
        task = self._task
        if not implements_stream(self._model):
            items: Iterator[Any] = iter(task.fallback_chunks(self._call(request)))
        else:
            items = self._iterate_model_stream(
                lambda: call_with_context(
                    self._model.predict_stream, self._context, *task.arguments(request)
                )
            )
        same_identity = _OneIdentity()
        try:
            for item in items:
                chunk = self._filter_chunk(request, item)
                if chunk is not None:
                    yield same_identity(chunk)
        finally:
            _close(items)

    def stats(self) -> dict[str, float] | None:
        """The model's own counters, if it keeps any (its ``stats()``: a transformers model's
        generation engine reports tokens generated, requests running and waiting, steps…)."""
        stats = getattr(self._model, "stats", None)
        if not callable(stats):
            return None
        result = stats()
        return dict(result) if isinstance(result, Mapping) else None

    def engine_info(self) -> dict[str, str] | None:
        """How the model's engine runs it, if it says (its ``engine_info()``: a transformers
        model's engine path, "packed", "padded" or "serial", and why), for ``/v1/models``."""
        info = getattr(self._model, "engine_info", None)
        if not callable(info):
            return None
        result = info()
        return {str(k): str(v) for k, v in result.items()} if isinstance(result, Mapping) else None

    def close(self) -> None:
        """Release what the model holds (a transformers model's engine thread and cache).

        Safe to call twice; the model cannot predict afterwards. ``with load_model(uri) as m:``
        closes on exit.
        """
        close = getattr(self._model, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> LoadedModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"LoadedModel(flavor={self.metadata.flavor!r}, task={self.task!r}, "
            f"uuid={self.metadata.model_uuid!r})"
        )


def load_model(model_uri: str | Path, **options: Any) -> LoadedModel:
    """Load a package from a local path, ``file://``, ``runs:/`` or ``models:/`` URI.

    ``options`` go to the package's flavor (for transformers: ``device``, ``dtype``,
    ``batching``, ``engine_config``); an option the flavor does not take is refused, naming it.
    What killed saves of the package left beside it is removed first.
    """
    path = resolve_model_uri(model_uri, remove_stale_saves=True)
    manifest = Manifest.read(path)
    flavor = get_flavor(manifest.flavor)
    model, context = flavor.load(path, manifest, parse_load_options(flavor, options))
    return LoadedModel(model, context, manifest, path)
