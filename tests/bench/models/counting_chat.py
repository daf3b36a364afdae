"""A chat model for the load-generator tests: streams max_tokens words, a few ms apart."""

import time

from modelport import ChatModel, set_model
from modelport.types import ChatCompletionChunk, ChatCompletionResponse

DELAY = 0.005


def _words(params):
    return [f"w{i}" for i in range(params.max_tokens or 8)]


class CountingChat(ChatModel):
    def predict(self, context, messages, params):
        words = _words(params)
        time.sleep(DELAY * len(words))
        return ChatCompletionResponse(
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " ".join(words)},
                    "finish_reason": "length",
                }
            ],
            usage={"prompt_tokens": 3, "completion_tokens": len(words)},
        )

    def predict_stream(self, context, messages, params):
        words = _words(params)
        for position, word in enumerate(words):
            time.sleep(DELAY)
            yield ChatCompletionChunk(
                choices=[{"index": 0, "delta": {"content": (" " if position else "") + word}}]
            )
        yield ChatCompletionChunk(choices=[{"index": 0, "delta": {}, "finish_reason": "length"}])
        yield ChatCompletionChunk(usage={"prompt_tokens": 3, "completion_tokens": len(words)})


set_model(CountingChat())
