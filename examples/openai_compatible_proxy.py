"""A ChatModel that forwards to another OpenAI-compatible service.

This is how one wraps Ollama, vLLM, llama.cpp's server or a hosted API: the model holds an
``openai`` client and maps the request's ``max_tokens``, ``temperature``, ``stop`` and a
``custom_inputs`` seed onto the remote call. Saved as code (``set_model`` below), it needs only
``base_url`` and the remote model's name in its ``model_config``.

Run it: ``python examples/openai_compatible_proxy.py [BASE_URL]``. Without ``BASE_URL`` it starts a
second modelport server serving the demo model and forwards there.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import modelport
from modelport import ChatModel, Context
from modelport.types import ChatCompletionChunk, ChatCompletionResponse, ChatMessage, ChatParams


class OpenAICompatibleProxy(ChatModel):
    """Forwards each chat request to ``model_config["base_url"]``."""

    def load_context(self, context: Context) -> None:
        import openai

        config = context.model_config
        self.remote_model = config.get("model", "default")
        self.client = openai.OpenAI(
            base_url=config["base_url"],
            api_key=os.environ.get(config.get("api_key_env", "OPENAI_API_KEY"), "unused"),
            timeout=float(config.get("timeout", 120)),
            max_retries=int(config.get("max_retries", 2)),
        )

    def _arguments(self, messages: list[ChatMessage], params: ChatParams) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": self.remote_model,
            "messages": [message.to_dict() for message in messages],
            "temperature": params.temperature,
        }
        if params.token_limit is not None:
            arguments["max_tokens"] = params.token_limit
        if params.stop_sequences:
            arguments["stop"] = params.stop_sequences
        if params.n != 1:
            arguments["n"] = params.n
        seed = (params.custom_inputs or {}).get("seed", params.seed)
        if seed is not None:
            arguments["seed"] = int(seed)
        return arguments

    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        reply = self.client.chat.completions.create(**self._arguments(messages, params))
        return ChatCompletionResponse.parse(reply.model_dump(exclude_none=True))

    def predict_stream(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> Iterator[ChatCompletionChunk]:
        stream = self.client.chat.completions.create(
            **self._arguments(messages, params),
            stream=True,
            stream_options={"include_usage": True},
        )
        try:
            for chunk in stream:
                yield ChatCompletionChunk.parse(chunk.model_dump(exclude_none=True))
        finally:
            stream.close()  # closing our stream closes the remote one: the remote stops too


modelport.set_model(OpenAICompatibleProxy())


def start_demo_server() -> tuple[subprocess.Popen[str], str]:
    """A second modelport server serving the demo model, on a free port."""
    from modelport.demo import build_demo_package

    package = build_demo_package(progress=False)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelport.cli.main",
            "serve",
            "-m",
            f"demo={package}",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    url = ""
    for line in server.stdout:
        found = re.search(r"serving at (http://\S+) ", line)
        url = found.group(1) if found else url
        if line.startswith("ready:"):
            return server, url
    raise RuntimeError("the demo server stopped before it was ready")


def main() -> None:
    server = None
    if len(sys.argv) > 1:
        base_url = sys.argv[1]
    else:
        server, url = start_demo_server()
        base_url = f"{url}/v1"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "proxy"
            modelport.save_model(
                path,
                python_model=__file__,
                model_config={"base_url": base_url, "model": "demo"},
                # save runs predict on the example: it checks the remote answers
                input_example={"messages": [{"role": "user", "content": "Hi!"}], "max_tokens": 4},
            )
            print("saved a proxy to", "the demo server" if server is not None else base_url)
            model = modelport.load_model(path)

            question = [{"role": "user", "content": "What is the capital of France?"}]
            reply = model.predict({"messages": question, "max_tokens": 16, "temperature": 0})
            print("answer ->", reply["choices"][0]["message"]["content"])

            cut = model.predict(
                {"messages": question, "max_tokens": 16, "temperature": 0, "stop": [" Paris"]}
            )
            print("with stop ' Paris' ->", cut["choices"][0]["message"]["content"])

            short = model.predict({"messages": question, "max_tokens": 2, "temperature": 0})
            print("max_tokens 2 -> finish_reason", short["choices"][0]["finish_reason"])

            pieces = [
                chunk["choices"][0]["delta"].get("content") or ""
                for chunk in model.predict_stream(
                    {"messages": question, "max_tokens": 16, "temperature": 0}
                )
                if chunk.get("choices")
            ]
            print("streamed in", "many" if len(pieces) > 2 else "few", "pieces ->", "".join(pieces))

            poem = [{"role": "user", "content": "Write one line about the sea."}]
            seeded = {"messages": poem, "max_tokens": 8, "temperature": 1.0}
            first = model.predict({**seeded, "custom_inputs": {"seed": 7}})
            again = model.predict({**seeded, "custom_inputs": {"seed": 7}})
            same = (
                first["choices"][0]["message"]["content"]
                == again["choices"][0]["message"]["content"]
            )
            print("same seed, same words ->", same)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=60)


if __name__ == "__main__":
    main()
