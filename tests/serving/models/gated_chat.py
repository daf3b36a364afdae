"""A chat model whose load_context waits for a gate file (bounded): the loading-state tests."""

import time
from pathlib import Path

from modelport import ChatModel, set_model
from modelport.types import ChatCompletionResponse


class Gated(ChatModel):
    def load_context(self, context):
        gate = Path(context.model_config["gate"])
        deadline = time.monotonic() + 20
        while not gate.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {gate} never opened")
            time.sleep(0.02)

    def predict(self, context, messages, params):
        return ChatCompletionResponse(
            choices=[{"index": 0, "message": {"role": "assistant", "content": "ready"}}]
        )


set_model(Gated())
