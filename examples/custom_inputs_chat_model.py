"""A chat model that reads ``custom_inputs`` and ``max_tokens`` and returns ``custom_outputs``.

Run it from anywhere: ``python examples/custom_inputs_chat_model.py``.

``params`` inside ``predict`` is a ``ChatParams``: every OpenAI parameter is an attribute
(``params.max_tokens``, ``params.temperature``, ``params.stop``), and ``params.custom_inputs`` is
the free-form dict the client sent, passed through untouched (None when it sent none).
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import modelport
from modelport import ChatModel, Context
from modelport.types import ChatCompletionResponse, ChatMessage, ChatParams

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "lima",
]


class SeededWordModel(ChatModel):
    """Answers with random words, reproducible through a ``seed`` string in custom_inputs."""

    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        seed = (params.custom_inputs or {}).get("seed", "default")
        limit = params.max_tokens or 5
        rng = random.Random(seed)
        words = [rng.choice(WORDS) for _ in range(limit)]
        return ChatCompletionResponse(
            model="seeded-words",
            choices=[
                {
                    "index": i,
                    "message": {"role": "assistant", "content": " ".join(words[i:] + words[:i])},
                    "finish_reason": "length",
                }
                for i in range(params.n)
            ],
            usage={"prompt_tokens": len(messages), "completion_tokens": limit * params.n},
            custom_outputs={"seed": seed, "max_tokens": limit, "temperature": params.temperature},
        )


modelport.set_model(SeededWordModel())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seeded"
        modelport.save_model(path, python_model=__file__)
        model = modelport.load_model(path)

        request = {
            "messages": [{"role": "user", "content": "Say something"}],
            "max_tokens": 4,
            "temperature": 0.3,
            "n": 2,
            "custom_inputs": {"seed": "abc"},
        }
        first = model.predict(request)
        again = model.predict(request)
        for choice in first["choices"]:
            print(f"choice {choice['index']} ->", choice["message"]["content"])
        print("custom_outputs ->", json.dumps(first["custom_outputs"]))
        print("same seed, same words ->", first["choices"] == again["choices"])
        other = model.predict({**request, "custom_inputs": {"seed": "xyz"}})
        print("other seed, other words ->", other["choices"] != first["choices"])


if __name__ == "__main__":
    main()
