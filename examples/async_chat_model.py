"""An async chat model (``async def predict`` and an async generator ``predict_stream``).

Run it from anywhere: ``python examples/async_chat_model.py``.

The sync API (``predict``, ``predict_stream``) drives the coroutines on a private event loop; async
code (like the server) awaits them with ``acall`` and ``astream``. The fake "remote service"
below stands in for an HTTP client such as ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import modelport
from modelport import ChatModel, Context
from modelport.types import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessage,
    ChatParams,
)


class SlowRemoteService:
    """Answers word by word, as a streaming HTTP API would."""

    async def words(self, prompt: str) -> AsyncIterator[str]:
        for word in f"You said: {prompt}".split():
            await asyncio.sleep(0.01)
            yield word


class AsyncEcho(ChatModel):
    def load_context(self, context: Context) -> None:
        self.service = SlowRemoteService()

    async def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        words = [word async for word in self.service.words(messages[-1].text)]
        return ChatCompletionResponse(
            model="async-echo",
            choices=[{"index": 0, "message": {"role": "assistant", "content": " ".join(words)}}],
        )

    async def predict_stream(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> AsyncIterator[ChatCompletionChunk]:
        async for word in self.service.words(messages[-1].text):
            yield ChatCompletionChunk(model="async-echo", choices=[{"delta": {"content": word}}])
        yield ChatCompletionChunk(
            model="async-echo", choices=[{"delta": {}, "finish_reason": "stop"}]
        )


modelport.set_model(AsyncEcho())


async def from_async_code(model: modelport.LoadedModel) -> None:
    request = ChatCompletionRequest.parse({"messages": [{"role": "user", "content": "two"}]})
    answer, chunks = await asyncio.gather(model.acall(request), _collect(model.astream(request)))
    print("acall ->", answer.choices[0].message.content)  # type: ignore[attr-defined]
    print("astream ->", chunks)


async def _collect(stream: AsyncIterator[object]) -> list[str | None]:
    return [chunk.choices[0].delta.content async for chunk in stream]  # type: ignore[attr-defined]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "async-echo"
        manifest = modelport.save_model(path, python_model=__file__)
        model = modelport.load_model(path)
        print("streamable ->", manifest.streamable, "| async ->", model.is_async)

        request = {"messages": [{"role": "user", "content": "one"}]}
        print("predict ->", model.predict(request)["choices"][0]["message"]["content"])
        pieces = [c["choices"][0]["delta"].get("content") for c in model.predict_stream(request)]
        print("predict_stream ->", pieces)
        asyncio.run(from_async_code(model))


if __name__ == "__main__":
    main()
