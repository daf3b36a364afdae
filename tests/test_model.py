"""The authoring API: ChatModel / PythonModel as developers write them, sync or async."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import modelport
from modelport import ChatModel, Context, LoadedModel, PythonModel
from modelport.errors import InvalidRequestError, ModelExecutionError, PackageError
from modelport.model import call_with_context, implements_stream, load_model_from_code
from modelport.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessage,
    ChatParams,
)

SaveAndLoad = Callable[..., LoadedModel]
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


def reply(text: str) -> ChatCompletionResponse:
    return ChatCompletionResponse(
        model="test", choices=[{"index": 0, "message": {"role": "assistant", "content": text}}]
    )


class EchoWithoutContext(ChatModel):
    def predict(self, messages: list[ChatMessage], params: ChatParams) -> ChatCompletionResponse:
        return reply(f"{messages[-1].text}/{params.max_tokens}")


class AsyncEcho(ChatModel):
    async def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        await asyncio.sleep(0)
        return reply("async " + messages[-1].text)

    async def predict_stream(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> AsyncIterator[ChatCompletionChunk]:
        for word in messages[-1].text.split():
            await asyncio.sleep(0)
            yield ChatCompletionChunk(choices=[{"delta": {"content": word}}])
        yield ChatCompletionChunk(choices=[{"delta": {}, "finish_reason": "stop"}])


class SyncStreamer(ChatModel):
    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        return reply(messages[-1].text)

    def predict_stream(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> Iterator[ChatCompletionChunk]:
        for word in messages[-1].text.split():
            yield ChatCompletionChunk(choices=[{"delta": {"content": word}}])


class AsyncOnlyPredict(ChatModel):
    async def predict(self, messages: list[ChatMessage], params: ChatParams) -> Any:
        return reply("only " + messages[-1].text).model_copy(
            update={"usage": {"prompt_tokens": 1, "completion_tokens": 1}}
        )


def chunk_texts(chunks: list[dict[str, Any]]) -> list[str | None]:
    return [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]


# --- context may be left out ------------------------------------------------------------------


def test_predict_without_context_in_its_signature(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(EchoWithoutContext())

    out = loaded.predict({**HELLO, "max_tokens": 4})

    assert out["choices"][0]["message"]["content"] == "hello/4"


@pytest.mark.parametrize(
    ("method", "expects"),
    [
        (lambda context, model_input, params=None: (context, model_input, params), "cip"),
        (lambda context, model_input: (context, model_input), "ci"),
        (lambda model_input, params=None: (model_input, params), "ip"),
        (lambda model_input: (model_input,), "i"),
        (lambda ctx, data, params: (ctx, data, params), "cip"),
        (lambda a, b, c: (a, b, c), "cip"),
        (lambda *args: args, "cip"),
    ],
)
def test_call_with_context_follows_the_methods_signature(
    method: Callable[..., tuple[Any, ...]], expects: str
) -> None:
    context = Context()
    values = {"c": context, "i": "input", "p": {"t": 1}}

    result = call_with_context(method, context, "input", {"t": 1})

    assert result == tuple(values[k] for k in expects)


def test_python_model_with_mlflows_two_argument_predict(save_and_load: SaveAndLoad) -> None:
    class Legacy(PythonModel):
        def predict(self, context: Context, model_input: Any) -> Any:
            return {"echo": model_input["x"]}

    assert save_and_load(Legacy()).predict({"x": 3}) == {"echo": 3}


# --- async ------------------------------------------------------------------------------------


def test_async_predict_and_stream_work_through_sync_calls(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(AsyncEcho())

    out = loaded.predict({"messages": [{"role": "user", "content": "a b"}]})
    chunks = list(loaded.predict_stream({"messages": [{"role": "user", "content": "a b"}]}))

    assert out["choices"][0]["message"]["content"] == "async a b"
    assert chunk_texts(chunks) == ["a", "b", None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_async_model_through_acall_and_astream(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(AsyncEcho())
    request = ChatCompletionRequest.parse({"messages": [{"role": "user", "content": "x y z"}]})

    async def run() -> tuple[Any, list[Any]]:
        response = await loaded.acall(request)
        chunks = [chunk async for chunk in loaded.astream(request)]
        return response, chunks

    response, chunks = asyncio.run(run())

    assert loaded.is_async
    assert isinstance(response, ChatCompletionResponse)
    assert response.choices[0].message.content == "async x y z"
    assert [c.choices[0].delta.content for c in chunks] == ["x", "y", "z", None]


def test_sync_model_through_acall_and_astream(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(SyncStreamer())
    request = ChatCompletionRequest.parse({"messages": [{"role": "user", "content": "p q"}]})

    async def run() -> tuple[Any, list[Any]]:
        return await loaded.acall(request), [c async for c in loaded.astream(request)]

    response, chunks = asyncio.run(run())

    assert not loaded.is_async
    assert response.choices[0].message.content == "p q"
    assert [c.choices[0].delta.content for c in chunks] == ["p", "q"]


def test_async_predict_runs_from_inside_a_running_loop(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(AsyncEcho())

    async def call_sync_api() -> Any:
        return loaded.predict(HELLO)

    out = asyncio.run(call_sync_api())

    assert out["choices"][0]["message"]["content"] == "async hello"


# --- streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "streamable"),
    [(EchoWithoutContext(), False), (AsyncEcho(), True), (SyncStreamer(), True)],
)
def test_streamable_only_when_predict_stream_is_implemented(
    save_and_load: SaveAndLoad, model: ChatModel, streamable: bool
) -> None:
    assert implements_stream(model) is streamable
    assert save_and_load(model).metadata.streamable is streamable


def test_model_without_predict_stream_streams_as_one_chunk(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(EchoWithoutContext())

    chunks = list(loaded.predict_stream({**HELLO, "max_tokens": 2}))

    assert len(chunks) == 1
    choice = chunks[0]["choices"][0]
    assert choice["delta"] == {"role": "assistant", "content": "hello/2"}
    assert choice["finish_reason"] == "stop"
    assert chunks[0]["object"] == "chat.completion.chunk"


def test_fallback_stream_of_an_async_model_adds_usage_only_when_asked(
    save_and_load: SaveAndLoad,
) -> None:
    loaded = save_and_load(AsyncOnlyPredict())

    plain = list(loaded.predict_stream(HELLO))
    with_usage = list(loaded.predict_stream({**HELLO, "stream_options": {"include_usage": True}}))

    assert chunk_texts(plain) == ["only hello"]
    assert len(with_usage) == 2
    assert with_usage[-1]["choices"] == [] and with_usage[-1]["usage"]["total_tokens"] == 2


def test_python_model_without_stream_streams_its_predict_once(save_and_load: SaveAndLoad) -> None:
    class Doubler(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            return [v * 2 for v in model_input]

    assert list(save_and_load(Doubler()).predict_stream([1, 2])) == [[2, 4]]


def test_python_model_stream_yields_its_items(save_and_load: SaveAndLoad) -> None:
    class Counter(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            return list(range(model_input))

        def predict_stream(self, context: Context, model_input: Any, params: Any = None) -> Any:
            yield from range(model_input)

    assert list(save_and_load(Counter()).predict_stream(3)) == [0, 1, 2]


# --- the model's own failures -----------------------------------------------------------------


def test_a_model_that_raises_becomes_a_model_execution_error(save_and_load: SaveAndLoad) -> None:
    class Flaky(ChatModel):
        def predict(self, context: Context, messages: Any, params: Any) -> Any:
            if messages[-1].text == "fail":
                raise RuntimeError("secret detail")
            return reply("ok")

    loaded = save_and_load(Flaky())

    with pytest.raises(ModelExecutionError) as caught:
        loaded.predict({"messages": [{"role": "user", "content": "fail"}]})

    assert "RuntimeError" in caught.value.message
    assert "secret detail" not in caught.value.message
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_stream_that_breaks_midway_raises_model_execution_error(
    save_and_load: SaveAndLoad,
) -> None:
    class Breaks(SyncStreamer):
        def predict_stream(self, context: Context, messages: Any, params: Any) -> Any:
            yield ChatCompletionChunk(choices=[{"delta": {"content": "a"}}])
            raise ValueError("broken")

    stream = save_and_load(Breaks()).predict_stream(HELLO)

    assert chunk_texts([next(stream)]) == ["a"]
    with pytest.raises(ModelExecutionError):
        next(stream)


def test_unwrap_python_model_returns_the_users_object(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(SyncStreamer())

    assert isinstance(loaded.unwrap_python_model(), SyncStreamer)


# --- set_model --------------------------------------------------------------------------------


def test_set_model_refuses_what_is_not_a_model() -> None:
    with pytest.raises(PackageError, match="PythonModel or ChatModel instance, got int"):
        modelport.set_model(42)


def test_load_model_from_code_returns_the_set_model(tmp_path: Path) -> None:
    code = tmp_path / "m.py"
    code.write_text(
        "import modelport\n"
        "class M(modelport.PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return model_input\n"
        "modelport.set_model(M())\n"
    )

    model = load_model_from_code(code)

    assert type(model).__name__ == "M"


def test_code_file_that_forgets_set_model_is_refused(tmp_path: Path) -> None:
    code = tmp_path / "forgot.py"
    code.write_text("x = 1\n")

    with pytest.raises(PackageError, match=r"did not call modelport.set_model"):
        load_model_from_code(code)


def test_code_file_that_raises_is_refused_with_its_error(tmp_path: Path) -> None:
    code = tmp_path / "broken.py"
    code.write_text("raise ImportError('no such lib')\n")

    with pytest.raises(PackageError, match=r"broken.py.*no such lib"):
        load_model_from_code(code)


def test_every_chunk_of_a_stream_shares_the_first_chunks_id(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(SyncStreamer())
    request = {"messages": [{"role": "user", "content": "a b c"}]}

    chunks = list(loaded.predict_stream(request))

    assert len(chunks) == 3
    assert len({(c["id"], c["created"]) for c in chunks}) == 1


def test_every_chunk_of_an_async_stream_shares_one_id(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(AsyncEcho())
    request = ChatCompletionRequest.parse({"messages": [{"role": "user", "content": "a b"}]})

    async def run() -> list[Any]:
        return [chunk async for chunk in loaded.astream(request)]

    chunks = asyncio.run(run())

    assert len(chunks) == 3
    assert len({c.id for c in chunks}) == 1  # type: ignore[attr-defined]


def test_set_model_refuses_a_duck_typed_object_that_save_would_refuse() -> None:
    class LooksLikeAModel:
        def predict(self, model_input: Any) -> Any:
            return model_input

    with pytest.raises(PackageError, match="got LooksLikeAModel"):
        modelport.set_model(LooksLikeAModel())


def test_a_bad_stream_request_raises_at_the_call_not_at_the_first_chunk(
    save_and_load: SaveAndLoad,
) -> None:
    loaded = save_and_load(SyncStreamer())

    with pytest.raises(InvalidRequestError) as caught:
        loaded.predict_stream({"messages": [{"role": "user", "content": "x"}], "n": 0})

    assert caught.value.param == "n"


def test_a_stream_runs_the_model_only_as_it_is_read(save_and_load: SaveAndLoad) -> None:
    loaded = save_and_load(EchoWithoutContext())
    model = loaded.unwrap_python_model()
    calls: list[str] = []
    original = model.predict

    def spy(messages: Any, params: Any) -> Any:
        calls.append("predict")
        return original(messages, params)

    model.predict = spy  # type: ignore[method-assign]

    stream = loaded.predict_stream(HELLO)
    assert calls == []

    assert len(list(stream)) == 1 and calls == ["predict"]
