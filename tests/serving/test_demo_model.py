"""End to end on the real demo model (SmolLM2-135M-Instruct, transformers flavor, batched engine)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport.serving import ServerConfig

from .conftest import RunningServer, start_server, stop_server

pytestmark = pytest.mark.slow
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


def _engine(server: RunningServer) -> dict[str, float]:
    """The demo model's engine series in /metrics: ``tokens_generated_total``, ``running``…"""
    text = httpx.get(f"{server.url}/metrics").text
    return {
        sample.name.removeprefix("modelport_engine_"): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("modelport_engine_") and sample.labels == {"model": "demo"}
    }


def _engine_tokens(server: RunningServer) -> float:
    return _engine(server)["tokens_generated_total"]


def _idle_engine_tokens(server: RunningServer) -> float:
    """The engine's token count once no request runs or waits in it (bounded at 20 s: a runaway
    generation of 400 tokens at ~17 tok/s would still be running)."""
    deadline = time.monotonic() + 20
    while (engine := _engine(server))["running"] or engine["waiting"]:
        assert time.monotonic() < deadline, "the engine kept generating"
        time.sleep(0.05)
    return engine["tokens_generated_total"]


def test_openai_sdk_chat_and_stream(demo_server: RunningServer) -> None:
    with openai.OpenAI(base_url=demo_server.v1, api_key="x", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="demo", messages=FRANCE, temperature=0, max_tokens=12
        )
        assert "Paris" in (reply.choices[0].message.content or "")
        assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 12
        chunks = list(
            client.chat.completions.create(
                model="demo",
                messages=FRANCE,
                temperature=0,
                max_tokens=12,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == reply.choices[0].message.content  # greedy: the same answer streamed
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == reply.usage.completion_tokens


def test_the_engine_path_is_in_the_model_list_and_the_metrics(demo_server: RunningServer) -> None:
    with openai.OpenAI(base_url=demo_server.v1, api_key="x", max_retries=0) as client:
        card = client.models.retrieve("demo").model_dump()
    assert card["engine"]["path"] == "packed"
    assert "AttentionInterface" in card["engine"]["reason"]
    assert (card["engine"]["dtype"], card["engine"]["dtype_reason"]) == ("float32", "as asked")
    text = httpx.get(f"{demo_server.url}/metrics").text
    assert 'modelport_engine_path_info{model="demo",path="packed"} 1.0' in text


def test_the_demo_as_built_loads_in_the_machines_dtype_and_says_so(
    demo_auto_uri: str, serve: Any
) -> None:
    from modelport.flavors.transformers.dtypes import cpu_bf16_features

    server = serve({"demo": demo_auto_uri})
    expected = "bfloat16" if cpu_bf16_features() else "float32"
    with openai.OpenAI(base_url=server.v1, api_key="x", max_retries=0) as client:
        card = client.models.retrieve("demo").model_dump()
        reply = client.chat.completions.create(
            model="demo", messages=FRANCE, temperature=0, max_tokens=12
        )
    assert card["engine"]["dtype"] == expected
    assert card["engine"]["dtype_reason"].startswith("auto: the CPU has ")
    assert "Paris" in (reply.choices[0].message.content or "")


def test_invocations_tutorial_body(demo_server: RunningServer) -> None:
    body = {"messages": FRANCE, "max_tokens": 8, "temperature": 0}
    reply = httpx.post(f"{demo_server.url}/invocations", json=body, timeout=60)
    assert reply.status_code == 200
    assert "Paris" in reply.json()["choices"][0]["message"]["content"]


def test_disconnect_stops_the_engine_generating(demo_server: RunningServer) -> None:
    before = _engine_tokens(demo_server)
    body = {
        "messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
        "max_tokens": 400,
        "temperature": 0,
        "stream": True,
    }
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", f"{demo_server.v1}/chat/completions", json=body) as reply,
    ):
        seen = 0
        for line in reply.iter_lines():
            seen += line.startswith("data: ")
            if seen >= 5:
                break
    settled = _idle_engine_tokens(demo_server)
    assert settled - before < 40  # of the 400 asked for: it stopped soon after the client left


def test_a_non_streamed_timeout_stops_the_engine(demo_model_uri: str) -> None:
    running, thread = start_server(ServerConfig(models={"demo": demo_model_uri}, timeout=1.0))
    try:
        before = _engine_tokens(running)
        body = {
            "messages": [{"role": "user", "content": "Write a very long story about a dragon."}],
            "max_tokens": 400,
            "temperature": 0,
        }
        reply = httpx.post(f"{running.v1}/chat/completions", json=body, timeout=60)
        assert reply.status_code == 504
        settled = _idle_engine_tokens(running)
        assert settled - before < 100  # of the 400 asked for
    finally:
        stop_server(running, thread)


def test_unbatched_server_answers_too(demo_model_uri: str) -> None:
    running, thread = start_server(
        ServerConfig(models={"demo": demo_model_uri}, load_options={"batching": False})
    )
    try:
        with openai.OpenAI(base_url=running.v1, api_key="x", max_retries=0) as client:
            reply = client.chat.completions.create(
                model="demo", messages=FRANCE, temperature=0, max_tokens=8
            )
        assert "Paris" in (reply.choices[0].message.content or "")
        loaded = running.app.state.modelport.models.get("demo").loaded
        assert loaded.unwrap_python_model().lm.engine.config.batching is False
    finally:
        stop_server(running, thread)


CITY = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 20},
        "country": {"type": "string", "maxLength": 20},
        "population_millions": {"type": "integer", "minimum": 0, "maximum": 50},
    },
    "required": ["city", "country", "population_millions"],
    "additionalProperties": False,
}


def test_openai_sdk_structured_output_and_logprobs(demo_server: RunningServer) -> None:
    import jsonschema

    ask = [{"role": "user", "content": "Describe Paris as JSON with its country and population."}]
    with openai.OpenAI(base_url=demo_server.v1, api_key="x", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="demo",
            messages=ask,
            temperature=0,
            max_tokens=60,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "city", "schema": CITY, "strict": True},
            },
        )
        content = reply.choices[0].message.content or ""
        assert reply.choices[0].finish_reason == "stop"
        jsonschema.validate(json.loads(content), CITY)
        assert "Paris" in content

        with_logprobs = client.chat.completions.create(
            model="demo",
            messages=FRANCE,
            temperature=0,
            max_tokens=5,
            logprobs=True,
            top_logprobs=2,
        )
        entries = with_logprobs.choices[0].logprobs.content  # type: ignore[union-attr]
        assert entries is not None and len(entries) == 5
        assert all(e.top_logprobs[0].token == e.token for e in entries)

        bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nope"}}}
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model="demo",
                messages=FRANCE,
                max_tokens=5,
                response_format=bad,  # type: ignore[arg-type]
            )
        assert caught.value.body["param"] == "response_format"  # type: ignore[index]


WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 30}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
WEATHER_ASK: Any = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_openai_sdk_forced_tool_call_whole_and_streamed(demo_server: RunningServer) -> None:
    with openai.OpenAI(base_url=demo_server.v1, api_key="x", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="demo", messages=WEATHER_ASK, tools=[WEATHER_TOOL], tool_choice="required",
            temperature=0, parallel_tool_calls=False,
        )  # fmt: skip
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls"
        call = (choice.message.tool_calls or [])[0]
        assert call.function.name == "get_weather"  # type: ignore[union-attr]
        assert "city" in json.loads(call.function.arguments)  # type: ignore[union-attr]

        stream = client.chat.completions.create(
            model="demo", messages=WEATHER_ASK, tools=[WEATHER_TOOL], stream=True,
            tool_choice={"type": "function", "function": {"name": "get_weather"}}, temperature=0,
            parallel_tool_calls=False,
        )  # fmt: skip
        arguments, finish = "", None
        for chunk in stream:
            if not chunk.choices:
                continue
            for delta in chunk.choices[0].delta.tool_calls or []:
                arguments += (delta.function.arguments or "") if delta.function else ""
            finish = chunk.choices[0].finish_reason or finish
        assert finish == "tool_calls"
        assert arguments == call.function.arguments  # type: ignore[union-attr]

        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model="demo", messages=WEATHER_ASK, tools=[WEATHER_TOOL],
                tool_choice={"type": "function", "function": {"name": "nope"}},
            )  # fmt: skip
        assert caught.value.body["param"] == "tool_choice"  # type: ignore[index]


@pytest.mark.anyio
async def test_async_sdk_tool_call(demo_server: RunningServer) -> None:
    async with openai.AsyncOpenAI(base_url=demo_server.v1, api_key="x", max_retries=0) as client:
        reply = await client.chat.completions.create(
            model="demo", messages=WEATHER_ASK, tools=[WEATHER_TOOL], tool_choice="required",
            temperature=0, parallel_tool_calls=False,
        )  # fmt: skip
        assert reply.choices[0].finish_reason == "tool_calls"
