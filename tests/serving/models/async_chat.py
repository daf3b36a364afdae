"""An async chat model for the server tests: awaited on the event loop, never in a thread."""

import asyncio

from modelport import ChatModel, set_model
from modelport.types import ChatCompletionChunk, ChatCompletionResponse


class AsyncChat(ChatModel):
    async def predict(self, context, messages, params):
        delay = float((params.custom_inputs or {}).get("delay", 0))
        if delay:
            await asyncio.sleep(delay)
        return ChatCompletionResponse(
            choices=[{"index": 0, "message": {"role": "assistant", "content": "async reply"}}]
        )

    async def predict_stream(self, context, messages, params):
        for word in ("async", "stream"):
            await asyncio.sleep(0)
            yield ChatCompletionChunk(choices=[{"index": 0, "delta": {"content": word}}])


set_model(AsyncChat())
