"""A chat model for the server tests: echoes the last message, word by word when streamed.

``custom_inputs`` steer it: ``delay`` (seconds per word), ``repeat`` (say the text N times),
``fail`` (raise), ``log`` (a file that gets one line per word produced). A non-streamed call
stops early when the server cancels its request (``modelport.cancellation``).
"""

import time

from modelport import ChatModel, set_model
from modelport.cancellation import current_token
from modelport.types import ChatCompletionChunk, ChatCompletionResponse


def _words(messages, params):
    words = messages[-1].text.split() * int((params.custom_inputs or {}).get("repeat", 1))
    limit = params.token_limit
    finish = "stop"
    if limit is not None and len(words) > limit:
        words, finish = words[:limit], "length"
    for stop in params.stop_sequences:
        if stop in words:
            words, finish = words[: words.index(stop)], "stop"
    return words, finish


def _produce(word, params):
    delay = float((params.custom_inputs or {}).get("delay", 0))
    if delay:
        time.sleep(delay)
    log = (params.custom_inputs or {}).get("log")
    if log:
        with open(log, "a", encoding="utf-8") as file:
            file.write(word + "\n")


class EchoChat(ChatModel):
    def predict(self, context, messages, params):
        if (params.custom_inputs or {}).get("fail"):
            raise RuntimeError("secret internal detail")
        words, finish = _words(messages, params)
        token = current_token()
        for word in words:
            if token is not None and token.cancelled:
                _produce("<cancelled>", params)
                break
            _produce(word, params)
        text = " ".join(words)
        return ChatCompletionResponse(
            choices=[
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
                for i in range(params.n)
            ],
            usage={
                "prompt_tokens": len(messages[-1].text.split()),
                "completion_tokens": len(words),
            },
        )

    def predict_stream(self, context, messages, params):
        if (params.custom_inputs or {}).get("fail") == "stream-start":
            raise RuntimeError("secret internal detail")
        words, finish = _words(messages, params)
        for position, word in enumerate(words):
            if (params.custom_inputs or {}).get("fail") == "mid-stream" and position == 1:
                raise RuntimeError("secret internal detail")
            _produce(word, params)
            for i in range(params.n):
                yield ChatCompletionChunk(
                    choices=[
                        {
                            "index": i,
                            "delta": {
                                "role": "assistant" if position == 0 else None,
                                "content": (" " if position else "") + word,
                            },
                        }
                    ]
                )
        for i in range(params.n):
            yield ChatCompletionChunk(choices=[{"index": i, "delta": {}, "finish_reason": finish}])
        yield ChatCompletionChunk(
            usage={"prompt_tokens": len(messages[-1].text.split()), "completion_tokens": len(words)}
        )


set_model(EchoChat())
