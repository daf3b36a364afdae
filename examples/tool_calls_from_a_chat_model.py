"""A ``ChatModel`` of your own that calls tools: ``predict`` returns ``tool_calls``,
``predict_stream`` streams them in OpenAI's delta format, and any OpenAI client reads them.

Run it from anywhere: ``python examples/tool_calls_from_a_chat_model.py``. It saves the model
below, serves it with ``modelport serve`` and calls it with the ``openai`` SDK, plain and
streamed. The model is a rule (a real one would be an LLM, or a call to a service): a question
about the weather becomes a ``get_weather`` call, and a ``tool`` message becomes the answer.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from openai import OpenAI

import modelport
from modelport import ChatModel
from modelport.types import ChatCompletionChunk, ChatCompletionResponse

CALL_ID = "call_weather_1"


class WeatherRouter(ChatModel):
    def _arguments(self, messages) -> str | None:
        last = messages[-1]
        found = re.search(r"weather in (\w+)", last.text)
        return json.dumps({"city": found.group(1)}) if found and last.role == "user" else None

    def predict(self, context, messages, params):
        arguments = self._arguments(messages)
        if arguments is None:  # a tool result (or anything else): answer in text
            message = {"role": "assistant", "content": f"Here it is: {messages[-1].text}"}
            return ChatCompletionResponse(choices=[{"index": 0, "message": message}])
        call = {"id": CALL_ID, "type": "function",
                "function": {"name": "get_weather", "arguments": arguments}}  # fmt: skip
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return ChatCompletionResponse(
            choices=[{"index": 0, "message": message, "finish_reason": "tool_calls"}]
        )

    def predict_stream(self, context, messages, params):
        arguments = self._arguments(messages)
        if arguments is None:
            text = f"Here it is: {messages[-1].text}"
            yield ChatCompletionChunk(choices=[{"delta": {"role": "assistant", "content": text}}])
            yield ChatCompletionChunk(choices=[{"delta": {}, "finish_reason": "stop"}])
            return
        # OpenAI's shape: the first delta of a call has its id, type and name; the next ones
        # carry pieces of the arguments, which the client joins
        first = {"index": 0, "id": CALL_ID, "type": "function",
                 "function": {"name": "get_weather", "arguments": ""}}  # fmt: skip
        yield ChatCompletionChunk(choices=[{"delta": {"role": "assistant", "tool_calls": [first]}}])
        for start in range(0, len(arguments), 5):
            piece = {"index": 0, "function": {"arguments": arguments[start : start + 5]}}
            yield ChatCompletionChunk(choices=[{"delta": {"tool_calls": [piece]}}])
        yield ChatCompletionChunk(choices=[{"delta": {}, "finish_reason": "tool_calls"}])


def serve(package: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "modelport.cli.main", "serve", "-m", f"router={package}",
               "--port", "0"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    url = ""
    for line in server.stdout:
        found = re.search(r"serving at (http://\S+) ", line)
        url = found.group(1) if found else url
        if line.startswith("ready:"):
            return server, url
    raise RuntimeError("the server stopped before it was ready")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        package = Path(folder) / "router"
        modelport.save_model(package, python_model=WeatherRouter())
        server, url = serve(package)
        try:
            client = OpenAI(base_url=f"{url}/v1", api_key="unused")
            ask = [{"role": "user", "content": "What is the weather in Paris?"}]
            reply = client.chat.completions.create(model="router", messages=ask)  # type: ignore[arg-type]
            call = (reply.choices[0].message.tool_calls or [])[0]
            print("finish_reason ->", reply.choices[0].finish_reason)
            print("call ->", call.function.name, call.function.arguments)  # type: ignore[union-attr]

            joined, names = "", []
            for chunk in client.chat.completions.create(model="router", messages=ask, stream=True):  # type: ignore[arg-type]
                for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                    if delta.function and delta.function.name:
                        names.append(delta.function.name)
                    joined += (delta.function.arguments or "") if delta.function else ""
            print("streamed ->", names, joined)

            result = [*ask, reply.choices[0].message.model_dump(exclude_none=True),
                      {"role": "tool", "tool_call_id": call.id, "content": "18 C, sunny"}]  # fmt: skip
            answer = client.chat.completions.create(model="router", messages=result)  # type: ignore[arg-type]
            print("answer ->", answer.choices[0].message.content)
        finally:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)


if __name__ == "__main__":
    main()
