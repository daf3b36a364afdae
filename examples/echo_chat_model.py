"""A chat model that echoes the conversation: saved, loaded, predicted and streamed.

Run it from anywhere: ``python examples/echo_chat_model.py``. The package is written to a
temporary directory.

This file is also the model's code: it ends its model part with ``set_model(EchoModel())``, so
``save_model(python_model=__file__)`` stores the code itself (no pickle). The ``__main__`` block
below does not run when modelport imports the file.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import modelport
from modelport import ChatModel, Context
from modelport.types import ChatCompletionChunk, ChatCompletionResponse, ChatMessage, ChatParams


class EchoModel(ChatModel):
    """Answers with the conversation it was given, one line per message."""

    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        text = "\n".join(f"{m.role}: {m.text}" for m in messages)
        return ChatCompletionResponse(
            model="echo",
            choices=[{"index": 0, "message": {"role": "assistant", "content": text}}],
            usage={"prompt_tokens": len(messages), "completion_tokens": len(text.split())},
        )

    def predict_stream(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> Iterator[ChatCompletionChunk]:
        for word in messages[-1].text.split():
            yield ChatCompletionChunk(model="echo", choices=[{"delta": {"content": word + " "}}])
        yield ChatCompletionChunk(model="echo", choices=[{"delta": {}, "finish_reason": "stop"}])


modelport.set_model(EchoModel())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "echo-model"
        manifest = modelport.save_model(path, python_model=__file__)
        print(f"saved {manifest.task} model to {path.name}/ (streamable: {manifest.streamable})")

        model = modelport.load_model(path)
        request = {
            "messages": [
                {"role": "system", "content": "You are an echo."},
                {"role": "user", "content": "Hello, echo!"},
            ]
        }
        response = model.predict(request)
        print("predict ->", json.dumps(response["choices"][0]["message"]))
        print("usage ->", json.dumps(response["usage"]))

        words = [
            chunk["choices"][0]["delta"].get("content", "")
            for chunk in model.predict_stream(request)
        ]
        print("stream ->", words)


if __name__ == "__main__":
    main()
