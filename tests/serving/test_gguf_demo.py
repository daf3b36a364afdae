"""End to end on the GGUF demo (SmolLM2-135M-Instruct Q4_1 on llama.cpp) with the openai SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport.serving import ServerConfig

from .conftest import RunningServer, start_server, stop_server

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}


def _engine(server: RunningServer) -> dict[str, float]:
    text = httpx.get(f"{server.url}/metrics").text
    return {
        sample.name.removeprefix("modelport_engine_"): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("modelport_engine_") and sample.labels == {"model": "demo"}
    }


@pytest.fixture(scope="module")
def gguf_server(demo_gguf_uri: str) -> Iterator[RunningServer]:
    running, thread = start_server(ServerConfig(models={"demo": demo_gguf_uri}))
    yield running
    stop_server(running, thread)


def test_models_shows_the_llama_cpp_engine(gguf_server: RunningServer) -> None:
    (model,) = httpx.get(f"{gguf_server.v1}/models").json()["data"]
    assert model["flavor"] == "gguf"
    assert model["engine"]["path"] == "llama.cpp" and model["engine"]["dtype"] == "Q4_1"


def test_plain_streamed_n_and_stop(gguf_server: RunningServer) -> None:
    with openai.OpenAI(base_url=gguf_server.v1, api_key="x", max_retries=0) as client:
        plain = client.chat.completions.create(
            model="demo", messages=FRANCE, temperature=0, max_tokens=20
        )
        text = plain.choices[0].message.content or ""
        assert text and plain.usage is not None and plain.usage.completion_tokens <= 20
        stream = client.chat.completions.create(
            model="demo",
            messages=FRANCE,
            temperature=0,
            max_tokens=20,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
        assert chunks[-1].usage is not None
        two = client.chat.completions.create(
            model="demo", messages=FRANCE, n=2, temperature=1.0, seed=5, max_tokens=12
        )
        assert [c.index for c in two.choices] == [0, 1]
        word = text.split()[1]
        stopped = client.chat.completions.create(
            model="demo", messages=FRANCE, temperature=0, max_tokens=20, stop=[word]
        )
        assert word not in (stopped.choices[0].message.content or "")
        assert stopped.choices[0].finish_reason == "stop"


def test_structured_output_follows_the_schema(gguf_server: RunningServer) -> None:
    import jsonschema

    with openai.OpenAI(base_url=gguf_server.v1, api_key="x", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="demo",
            messages=[{"role": "user", "content": "Paris as JSON with its country."}],
            temperature=0,
            max_tokens=60,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "city", "schema": CITY, "strict": True},
            },
        )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), CITY)


def test_concurrent_clients_are_batched(gguf_server: RunningServer) -> None:
    async def ask_all() -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=gguf_server.v1, api_key="x", max_retries=0
        ) as client:
            replies = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model="demo",
                        messages=[{"role": "user", "content": f"Say the number {i}."}],
                        temperature=0,
                        max_tokens=16,
                    )
                    for i in range(8)
                )
            )
        return [r.choices[0].message.content or "" for r in replies]

    before = _engine(gguf_server)
    answers = asyncio.run(ask_all())
    assert all(answers)
    after = _engine(gguf_server)
    tokens = after["tokens_generated_total"] - before["tokens_generated_total"]
    steps = after["steps_total"] - before["steps_total"]
    assert tokens > 2 * steps  # rows shared the steps: more than two tokens a step on average


def test_a_prompt_over_the_context_is_a_400(gguf_server: RunningServer) -> None:
    with (
        openai.OpenAI(base_url=gguf_server.v1, api_key="x", max_retries=0) as client,
        pytest.raises(openai.BadRequestError, match="context"),
    ):
        client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "word " * 9000}], max_tokens=10
        )
