"""response_format and logprobs on a transformers chat model (the tiny random Llama): a random
model is the hardest case for a grammar, since nothing but the grammar makes its output valid."""

from __future__ import annotations

import json
import math
import threading
from typing import Any

import jsonschema
import pytest

from .conftest import TINY_CONTEXT

ASK = [{"role": "user", "content": "Describe a person as JSON."}]
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 8},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "role": {"enum": ["admin", "user"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2},
        "address": {
            "type": "object",
            "properties": {"zip": {"type": "string", "maxLength": 5}},
            "required": ["zip"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "age", "role", "address"],
    "additionalProperties": False,
}


def schema_format(schema: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": strict}}


def test_sampled_answers_all_validate_against_the_schema(tiny_chat: Any) -> None:
    answers = [
        tiny_chat.predict(
            {
                "messages": ASK,
                "temperature": 1.0,
                "seed": seed,
                "max_tokens": TINY_CONTEXT - 40,
                "response_format": schema_format(PERSON),
            }
        )["choices"][0]
        for seed in range(30)
    ]
    for answer in answers:
        assert answer["finish_reason"] == "stop", answer
        jsonschema.validate(json.loads(answer["message"]["content"]), PERSON)
    assert len({a["message"]["content"] for a in answers}) > 10  # sampled, not one fixed answer


def test_json_object_answers_are_objects(tiny_chat: Any) -> None:
    for seed in range(5):
        answer = tiny_chat.predict(
            {
                "messages": ASK,
                "seed": seed,
                "max_tokens": 60,
                "response_format": {"type": "json_object"},
            }
        )["choices"][0]
        if answer["finish_reason"] == "stop":
            assert isinstance(json.loads(answer["message"]["content"]), dict)
        else:  # an object left open at max_tokens ends with "length"
            assert answer["message"]["content"].startswith("{")


def test_hitting_max_tokens_mid_object_is_length(tiny_chat: Any) -> None:
    answer = tiny_chat.predict(
        {
            "messages": ASK,
            "max_tokens": 3,
            "temperature": 0,
            "response_format": schema_format(PERSON),
        }
    )["choices"][0]
    assert answer["finish_reason"] == "length"
    assert answer["message"]["content"].startswith('{"name":')


def test_a_streamed_answer_joins_into_valid_json(tiny_chat: Any) -> None:
    chunks = list(
        tiny_chat.predict_stream(
            {
                "messages": ASK,
                "seed": 7,
                "max_tokens": TINY_CONTEXT - 40,
                "response_format": schema_format(PERSON),
            }
        )
    )
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    jsonschema.validate(json.loads(text), PERSON)


def test_requests_with_different_schemas_share_the_batch(tiny_chat: Any) -> None:
    numbers = {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 9},
        "minItems": 1,
        "maxItems": 4,
    }
    flag = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": False,
    }
    schemas = [PERSON, numbers, flag, None] * 2
    results: list[Any] = [None] * len(schemas)
    engine = tiny_chat.unwrap_python_model().lm.engine
    peak_before = engine.stats()["peak_running_sequences"]

    def ask(i: int) -> None:
        request: dict[str, Any] = {"messages": ASK, "seed": i, "max_tokens": TINY_CONTEXT - 40}
        if schemas[i] is not None:
            request["response_format"] = schema_format(schemas[i])
        results[i] = tiny_chat.predict(request)["choices"][0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(schemas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for schema, answer in zip(schemas, results, strict=True):
        if schema is not None:
            assert answer["finish_reason"] == "stop"
            jsonschema.validate(json.loads(answer["message"]["content"]), schema)
    assert engine.stats()["peak_running_sequences"] >= min(peak_before, 2)


def test_logprobs_give_each_token_and_its_alternatives(tiny_chat: Any) -> None:
    reply = tiny_chat.predict(
        {"messages": ASK, "temperature": 0, "max_tokens": 6, "logprobs": True, "top_logprobs": 3}
    )
    choice = reply["choices"][0]
    content = choice["logprobs"]["content"]
    assert len(content) == reply["usage"]["completion_tokens"] == 6
    assert (
        "".join(bytes(entry["bytes"]).decode("utf-8", "replace") for entry in content)
        == (choice["message"]["content"])
    )
    for entry in content:
        top = entry["top_logprobs"]
        assert len(top) == 3
        assert [t["logprob"] for t in top] == sorted((t["logprob"] for t in top), reverse=True)
        # greedy: the token chosen is the most likely one
        assert (top[0]["token"], top[0]["logprob"]) == (entry["token"], entry["logprob"])
        assert entry["logprob"] <= 0 and math.isfinite(entry["logprob"])


def test_logprobs_follow_the_grammar_mask(tiny_chat: Any) -> None:
    reply = tiny_chat.predict(
        {
            "messages": ASK,
            "temperature": 0,
            "max_tokens": 4,
            "logprobs": True,
            "top_logprobs": 5,
            "response_format": schema_format(PERSON),
        }
    )
    first = reply["choices"][0]["logprobs"]["content"][0]
    possible = [t for t in first["top_logprobs"] if t["logprob"] > -9999]
    # only what opens the object has any mass, and together it has all of it; the rest is
    # shown as -9999, as OpenAI does (JSON has no -Infinity)
    assert all(t["logprob"] == -9999.0 for t in first["top_logprobs"] if t not in possible)
    assert possible and all(t["token"].startswith("{") for t in possible)
    assert sum(math.exp(t["logprob"]) for t in possible) == pytest.approx(1.0, abs=1e-4)


def test_streamed_logprobs_come_with_their_chunks(tiny_chat: Any) -> None:
    chunks = list(
        tiny_chat.predict_stream(
            {
                "messages": ASK,
                "temperature": 0,
                "max_tokens": 5,
                "logprobs": True,
                "top_logprobs": 1,
            }
        )
    )
    entries = [
        entry
        for chunk in chunks
        for choice in chunk["choices"]
        for entry in (choice.get("logprobs") or {}).get("content") or []
    ]
    assert len(entries) == 5 and all(len(e["top_logprobs"]) == 1 for e in entries)


def test_logprobs_off_by_default(tiny_chat: Any) -> None:
    reply = tiny_chat.predict({"messages": ASK, "max_tokens": 2})
    assert "logprobs" not in reply["choices"][0]
