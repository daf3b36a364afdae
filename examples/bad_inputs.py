"""What goes wrong, and what modelport says about it.

Run it from anywhere: ``python examples/bad_inputs.py``.

Every mistake raises from ``modelport.errors`` with a message that says what was wrong and what is
accepted; request errors name the offending field in ``param`` (the server puts it in the OpenAI
error body). A failed save leaves nothing behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import modelport
from modelport import ChatModel, Context
from modelport.errors import ModelportError
from modelport.types import ChatCompletionResponse, ChatMessage, ChatParams


class ReturnsADict(ChatModel):
    """Wrong: predict must return a ChatCompletionResponse, not a plain dict."""

    def predict(self, context: Context, messages: list[ChatMessage], params: ChatParams) -> Any:
        return {"choices": [{"message": {"role": "assistant", "content": "hi"}}]}


class Echo(ChatModel):
    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        return ChatCompletionResponse(
            choices=[{"index": 0, "message": {"role": "assistant", "content": messages[-1].text}}]
        )


modelport.set_model(Echo())


def show(what: str, exc: ModelportError) -> None:
    print(f"{what}\n  -> {type(exc).__name__} (HTTP {exc.status_code}, param={exc.param!r})")
    print(f"     {exc.message}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            modelport.save_model(Path(tmp) / "broken", python_model=ReturnsADict())
        except ModelportError as exc:
            show("a ChatModel whose predict returns a plain dict", exc)
        print("  the failed save left behind:", sorted(p.name for p in Path(tmp).iterdir()))

        modelport.save_model(Path(tmp) / "echo", python_model=__file__)
        model = modelport.load_model(Path(tmp) / "echo")
        bad_requests = {
            "a message without a role": {"messages": [{"content": "hi"}]},
            "an unknown role": {"messages": [{"role": "wizard", "content": "hi"}]},
            "temperature 5": {"messages": [{"role": "user", "content": "hi"}], "temperature": 5},
            "no messages at all": {"messages": []},
            "five stop strings": {
                "messages": [{"role": "user", "content": "hi"}],
                "stop": ["a", "b", "c", "d", "e"],
            },
        }
        for what, request in bad_requests.items():
            try:
                model.predict(request)
            except ModelportError as exc:
                show(what, exc)

        try:
            modelport.save_model(Path(tmp) / "echo", python_model=__file__)
        except ModelportError as exc:
            show("saving over an existing package", exc)
        try:
            modelport.load_model(Path(tmp) / "missing")
        except ModelportError as exc:
            show("loading a path that does not exist", exc)


if __name__ == "__main__":
    main()
