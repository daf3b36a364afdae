"""An agent's tool loop over modelport, with the official ``openai`` SDK and no other change
than the base URL: the model asks for a tool, the app runs it, the model answers with its result.

Run it from anywhere: ``python examples/tool_calling_agent_loop.py``. It starts ``modelport
serve`` on the demo model (SmolLM2-135M-Instruct, whose chat template takes no tools: modelport
gives it the tools in its generic format), then:

1. forces a call (``tool_choice="required"``): the arguments always validate against the
   tool's JSON Schema;
2. streams a forced call, joining the ``function.arguments`` fragments as OpenAI clients do;
3. runs the loop an agent framework runs: send the tool's result back as a ``tool`` message and
   let the model answer (``tool_choice="auto"``).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from typing import Any

from openai import OpenAI

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "maxLength": 40},
                    "unit": {"enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city", "unit"],
                "additionalProperties": False,
            },
        },
    }
]


def get_weather(city: str, unit: str) -> str:
    """The app's own function (a real one would call a weather service)."""
    return json.dumps(
        {"city": city, "temperature": 18 if unit == "celsius" else 64, "sky": "sunny"}
    )


def start_demo_server() -> tuple[subprocess.Popen[str], str]:
    from modelport.demo import build_demo_package

    package = build_demo_package(progress=False)
    command = [sys.executable, "-m", "modelport.cli.main", "serve", "-m", f"demo={package}",
               "--port", "0"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    url = ""
    for line in server.stdout:
        found = re.search(r"serving at (http://\S+) ", line)
        url = found.group(1) if found else url
        if line.startswith("ready:"):
            return server, url
    raise RuntimeError("the demo server stopped before it was ready")


def main() -> None:
    server, url = start_demo_server()
    try:
        client = OpenAI(base_url=f"{url}/v1", api_key="unused")
        messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]

        # 1. a forced call: always a call of get_weather, with valid arguments
        reply = client.chat.completions.create(
            model="demo",
            messages=messages,
            tools=TOOLS,
            tool_choice="required",
            temperature=0,
            parallel_tool_calls=False,
        )
        call = (reply.choices[0].message.tool_calls or [])[0]
        arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
        print("finish_reason ->", reply.choices[0].finish_reason)
        print("called ->", call.function.name, sorted(arguments))  # type: ignore[union-attr]

        # 2. the same call streamed: the first delta names it, the next ones carry the arguments
        pieces: list[str] = []
        stream = client.chat.completions.create(
            model="demo",
            messages=messages,
            tools=TOOLS,
            tool_choice="required",
            parallel_tool_calls=False,
            temperature=0,
            stream=True,
        )
        for chunk in stream:
            for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                if delta.function and delta.function.arguments:
                    pieces.append(delta.function.arguments)
        print("streamed arguments join ->", json.loads("".join(pieces)) == arguments)

        # 3. the agent loop: run the tool, send its result back, let the model answer
        result = get_weather(**arguments)
        messages += [
            reply.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": result},
        ]
        answer = client.chat.completions.create(
            model="demo", messages=messages, tools=TOOLS, tool_choice="none", temperature=0,
            max_tokens=40,
        )  # fmt: skip
        print("answer after the tool ->", bool(answer.choices[0].message.content))
        print(answer.choices[0].message.content)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


if __name__ == "__main__":
    main()
