"""A chat model that wraps another modelport package handed in as an artifact.

Run it from anywhere: ``python examples/wrapping_a_chat_model.py``.

The inner package (here a tiny rule-based model; in practice e.g. a transformers chat model) is
saved first. The wrapper receives its directory as the artifact ``chat_model_path``, loads it in
``load_context`` with ``modelport.load_model`` and post-processes every answer: its own ``id``,
its own ``model`` name and usage figures, and a disclaimer.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import modelport
from modelport import ChatModel, Context
from modelport.types import ChatCompletionResponse, ChatMessage, ChatParams

INNER_MODEL_CODE = """
from modelport import ChatModel, set_model
from modelport.types import ChatCompletionResponse


class Shouter(ChatModel):
    def predict(self, context, messages, params):
        return ChatCompletionResponse(
            model="shouter",
            choices=[{"index": 0, "message": {"role": "assistant",
                                              "content": messages[-1].text.upper()}}],
            usage={"prompt_tokens": 3, "completion_tokens": 3},
        )


set_model(Shouter())
"""


class DisclaimerModel(ChatModel):
    def load_context(self, context: Context) -> None:
        self.inner = modelport.load_model(context.artifacts["chat_model_path"])
        self.answers = 0

    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        inner = self.inner.predict(
            {"messages": [m.to_dict() for m in messages], "max_tokens": params.max_tokens}
        )
        self.answers += 1
        text = inner["choices"][0]["message"]["content"]
        return ChatCompletionResponse(
            id=f"chatcmpl-disclaimer-{self.answers}",
            model="disclaimer",
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"{text} (not legal advice)"},
                }
            ],
            usage={
                "prompt_tokens": sum(len(m.text.split()) for m in messages),
                "completion_tokens": len(text.split()) + 3,
            },
        )


modelport.set_model(DisclaimerModel())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inner_code = Path(tmp) / "shouter.py"
        inner_code.write_text(INNER_MODEL_CODE)
        modelport.save_model(Path(tmp) / "shouter", python_model=inner_code)

        modelport.save_model(
            Path(tmp) / "disclaimer",
            python_model=__file__,
            artifacts={"chat_model_path": Path(tmp) / "shouter"},
        )
        model = modelport.load_model(Path(tmp) / "disclaimer")
        response = model.predict({"messages": [{"role": "user", "content": "can I sue my cat"}]})
        print("id ->", response["id"])
        print("model ->", response["model"])
        print("content ->", response["choices"][0]["message"]["content"])
        print("usage ->", json.dumps(response["usage"]))


if __name__ == "__main__":
    main()
