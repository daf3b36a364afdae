"""The model of this example, as code: a FAQ bot that answers from an artifact.

modelport runs this file (it is not imported by ``run.py``) and keeps the object given to
``set_model``. The file is copied into the package, so loading needs no pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

from modelport import ChatModel, Context, set_model
from modelport.types import ChatCompletionResponse, ChatMessage, ChatParams


class FaqModel(ChatModel):
    def load_context(self, context: Context) -> None:
        # artifacts are local paths inside the loaded package; model_config is a dict
        self.answers: dict[str, str] = json.loads(Path(context.artifacts["faq"]).read_text())
        self.fallback: str = context.model_config["fallback"]
        self.signature: str = context.model_config["signature"]

    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        question = messages[-1].text.lower()
        answer = next(
            (text for keyword, text in self.answers.items() if keyword in question),
            self.fallback,
        )
        return ChatCompletionResponse(
            model="faq-bot",
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"{answer} {self.signature}"},
                }
            ],
        )


set_model(FaqModel())
