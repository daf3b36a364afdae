"""The chat adapter on the tiny random Llama: exact usage, streaming, n, seeds, limits, errors."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import modelport
import modelport.transformers
from modelport.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
)
from modelport.flavors.transformers.template import render_chat
from modelport.types import ChatMessage

from .conftest import TINY_CONTEXT

HELLO = [{"role": "user", "content": "Hello, how are you?"}]


def _hf_greedy(model: Any, prompt_ids: list[int], max_new_tokens: int) -> list[int]:
    """What plain ``model.generate`` produces greedily (EOS excluded)."""
    import torch

    output = model.generate(
        torch.tensor([prompt_ids]),
        attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
        max_new_tokens=max_new_tokens,
        do_sample=False,
    )
    generated = output[0, len(prompt_ids) :].tolist()
    eos = model.generation_config.eos_token_id
    return generated[: generated.index(eos)] if eos in generated else generated


def _prompt_ids(tokenizer: Any, messages: list[dict[str, Any]]) -> list[int]:
    return render_chat(tokenizer, [ChatMessage.parse(m) for m in messages])


def _stream(tiny_chat: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    chunks = list(tiny_chat.predict_stream(request))
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)  # the official SDK's type is the oracle
    return chunks


def test_greedy_matches_model_generate_with_exact_usage(
    tiny_chat: Any, tiny_llama: tuple[Any, Any]
) -> None:
    model, tokenizer = tiny_llama
    response = tiny_chat.predict({"messages": HELLO, "temperature": 0, "max_tokens": 8})
    ChatCompletion.model_validate(response)
    prompt_ids = _prompt_ids(tokenizer, HELLO)
    expected = _hf_greedy(model, prompt_ids, 8)
    choice = response["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": tokenizer.decode(expected, skip_special_tokens=True),
    }
    assert choice["finish_reason"] == ("length" if len(expected) == 8 else "stop")
    assert response["usage"] == {
        "prompt_tokens": len(prompt_ids),
        "completion_tokens": len(expected),
        "total_tokens": len(prompt_ids) + len(expected),
    }
    assert response["object"] == "chat.completion"
    assert response["model"] == "TinyLlama"


def test_streaming_concatenates_to_the_non_streamed_text(tiny_chat: Any) -> None:
    request = {"messages": HELLO, "temperature": 0, "max_tokens": 12}
    text = tiny_chat.predict(request)["choices"][0]["message"]["content"]
    chunks = _stream(tiny_chat, {**request, "stream": True})
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all("role" not in c["choices"][0]["delta"] for c in chunks[1:])
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == text
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    assert all(c["choices"][0].get("finish_reason") is None for c in chunks[:-1])
    assert len({c["id"] for c in chunks}) == 1
    assert all("usage" not in c for c in chunks)  # no include_usage: no usage chunk


def test_stream_usage_chunk_when_asked(tiny_chat: Any, tiny_llama: tuple[Any, Any]) -> None:
    request = {"messages": HELLO, "temperature": 0, "max_tokens": 6}
    usage = tiny_chat.predict(request)["usage"]
    chunks = _stream(tiny_chat, {**request, "stream_options": {"include_usage": True}})
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == usage
    assert usage["prompt_tokens"] == len(_prompt_ids(tiny_llama[1], HELLO))


def test_n_greedy_choices_are_equal_and_counted(tiny_chat: Any) -> None:
    one = tiny_chat.predict({"messages": HELLO, "temperature": 0, "max_tokens": 5})
    three = tiny_chat.predict({"messages": HELLO, "temperature": 0, "max_tokens": 5, "n": 3})
    assert [c["index"] for c in three["choices"]] == [0, 1, 2]
    assert {c["message"]["content"] for c in three["choices"]} == {
        one["choices"][0]["message"]["content"]
    }
    assert three["usage"]["completion_tokens"] == 3 * one["usage"]["completion_tokens"]
    assert three["usage"]["prompt_tokens"] == one["usage"]["prompt_tokens"]


def test_n_streams_give_each_choice_its_role_and_finish(tiny_chat: Any) -> None:
    chunks = _stream(tiny_chat, {"messages": HELLO, "temperature": 0, "max_tokens": 4, "n": 2})
    by_index: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    for chunk in chunks:
        by_index[chunk["choices"][0]["index"]].append(chunk["choices"][0])
    for choices in by_index.values():
        assert choices[0]["delta"]["role"] == "assistant"
        assert [c["finish_reason"] for c in choices if c.get("finish_reason")] in (
            ["length"],
            ["stop"],
        )


def test_same_seed_same_sample_other_seed_differs(tiny_chat: Any) -> None:
    request = {"messages": HELLO, "temperature": 1.0, "max_tokens": 10}

    def sample(seed: int) -> str:
        response = tiny_chat.predict({**request, "seed": seed})
        return str(response["choices"][0]["message"]["content"])

    first = sample(7)
    assert sample(7) == first
    assert any(sample(seed) != first for seed in (8, 9, 10))


def test_max_tokens_and_max_completion_tokens_set_the_limit(tiny_chat: Any) -> None:
    for field in ("max_tokens", "max_completion_tokens"):
        response = tiny_chat.predict({"messages": HELLO, "temperature": 0, field: 3})
        usage, choice = response["usage"], response["choices"][0]
        assert usage["completion_tokens"] <= 3
        assert choice["finish_reason"] == ("length" if usage["completion_tokens"] == 3 else "stop")


def test_the_default_limit_is_cut_to_the_context(
    tiny_chat: Any, tiny_llama: tuple[Any, Any]
) -> None:
    messages = [{"role": "user", "content": "word " * 60}]
    prompt_tokens = len(_prompt_ids(tiny_llama[1], messages))
    assert tiny_chat.unwrap_python_model().lm.default_max_new_tokens > TINY_CONTEXT
    response = tiny_chat.predict({"messages": messages, "temperature": 0})
    assert response["usage"]["prompt_tokens"] == prompt_tokens
    assert response["usage"]["completion_tokens"] <= TINY_CONTEXT - prompt_tokens


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_a_limit_beyond_the_context_is_a_400_naming_it(
    tiny_chat: Any, tiny_llama: tuple[Any, Any], field: str
) -> None:
    messages = [{"role": "user", "content": "word " * 60}]
    room = TINY_CONTEXT - len(_prompt_ids(tiny_llama[1], messages))
    with pytest.raises(ContextLengthExceededError, match=f"set {field} to at most {room}") as info:
        tiny_chat.predict({"messages": messages, field: 10**12})
    assert (info.value.status_code, info.value.param) == (400, field)
    with pytest.raises(ContextLengthExceededError):
        tiny_chat.predict({"messages": messages, field: room + 1})
    # exactly what fits is accepted
    reply = tiny_chat.predict({"messages": messages, field: room, "temperature": 0})
    assert reply["usage"]["completion_tokens"] <= room


def test_a_prompt_that_fills_the_context_is_a_clear_400(tiny_chat: Any) -> None:
    messages = [{"role": "user", "content": "word " * 200}]
    with pytest.raises(
        ContextLengthExceededError, match=f"maximum context length is {TINY_CONTEXT}"
    ) as info:
        tiny_chat.predict({"messages": messages})
    assert info.value.status_code == 400
    assert info.value.code == "context_length_exceeded"


def test_default_limit_comes_from_the_package_model_config(
    tmp_path: Path, tiny_llama_folder: Path
) -> None:
    modelport.transformers.save_model(
        tmp_path / "pkg",
        transformers_model=tiny_llama_folder,
        save_pretrained=False,
        model_config={"max_new_tokens": 2},
        dtype="float32",
        progress=False,
    )
    loaded = modelport.load_model(tmp_path / "pkg")
    try:
        response = loaded.predict({"messages": HELLO, "temperature": 0})
        assert response["usage"]["completion_tokens"] <= 2
        more = loaded.predict({"messages": HELLO, "temperature": 0, "max_tokens": 6})
        assert more["usage"]["completion_tokens"] > response["usage"]["completion_tokens"]
    finally:
        loaded.unwrap_python_model().close()


def _idle_tokens_generated(tiny_chat: Any) -> float:
    """The engine's token count once no request runs or waits (bounded wait)."""
    deadline = time.monotonic() + 5
    while (stats := tiny_chat.stats())["running"] or stats["waiting"]:
        assert time.monotonic() < deadline, f"the engine is still busy: {stats}"
        time.sleep(0.01)
    return float(stats["tokens_generated"])


def test_closing_a_stream_cancels_the_generation(tiny_chat: Any) -> None:
    request = {"messages": HELLO, "temperature": 0, "max_tokens": 90}
    before = _idle_tokens_generated(tiny_chat)
    reply = tiny_chat.predict(request)
    full = reply["usage"]["completion_tokens"]
    assert reply["choices"][0]["finish_reason"] == "length"  # uncancelled, it runs to the limit
    assert _idle_tokens_generated(tiny_chat) - before == full
    before = _idle_tokens_generated(tiny_chat)
    stream = tiny_chat.predict_stream(request)
    next(stream)  # the role
    next(stream)  # the first text: the request is generating
    stream.close()
    generated = _idle_tokens_generated(tiny_chat) - before
    assert generated < full // 2  # it stopped within a few steps of the close


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        ({"top_logprobs": 3}, InvalidRequestError, "top_logprobs needs logprobs"),
        ({"top_logprobs": 21, "logprobs": True}, InvalidRequestError, "top_logprobs"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": 1}}}},
            InvalidRequestError,
            "not a valid JSON Schema",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "nope"},
            InvalidRequestError,
            "tool_choice",
        ),
        ({"temperature": 3}, InvalidRequestError, "temperature"),
        ({"n": 0}, InvalidRequestError, "n"),
        ({"stop": ["a", "b", "c", "d", "e"]}, InvalidRequestError, "at most 4 stop"),
    ],
)
def test_bad_requests_are_refused(
    tiny_chat: Any, extra: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        tiny_chat.predict({"messages": HELLO, **extra})
    with pytest.raises(error, match=message):
        list(tiny_chat.predict_stream({"messages": HELLO, **extra}))


def test_metadata_signature_is_the_chat_signature(tiny_chat: Any) -> None:
    shown = repr(tiny_chat.metadata.signature)
    assert "messages" in shown
    assert tiny_chat.metadata.task == "llm/v1/chat"
    assert tiny_chat.metadata.flavor == "transformers"


def test_load_options_override_the_saved_engine_config(
    tmp_path: Path, tiny_llama_folder: Path
) -> None:
    from modelport.flavors.transformers import save_model

    package = tmp_path / "pkg"
    save_model(
        package,
        transformers_model=tiny_llama_folder,
        save_pretrained=False,
        engine_config={"max_batch_size": 3, "prefix_cache": False},
        dtype="float32",
        progress=False,
    )
    loaded = modelport.load_model(package, batching=False, engine_config={"max_batch_size": 5})
    try:
        config = loaded.unwrap_python_model().lm.engine.config
        # given fields win; the saved ones not given stay
        assert (config.batching, config.max_batch_size, config.prefix_cache) == (False, 5, False)
        requests = [{"messages": HELLO, "temperature": 0, "max_tokens": 4}] * 3
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(loaded.predict, requests))
        assert all(a["choices"][0]["message"]["role"] == "assistant" for a in answers)
        stats = loaded.stats()
        assert stats is not None and stats["peak_running_sequences"] == 1  # one at a time
    finally:
        loaded.close()


@pytest.mark.parametrize(
    ("options", "message", "param"),
    [
        ({"colour": "red"}, "no load option 'colour' .it takes batching, device, dtype", "colour"),
        ({"dtype": "int3"}, "'dtype': Input should be 'auto', 'float32'", "dtype"),
        ({"device": "tpu"}, "'device': Input should be 'auto', 'cpu' or 'cuda'", "device"),
        ({"batching": "sometimes"}, "'batching': Input should be a valid boolean", "batching"),
        (
            {"engine_config": {"max_batch_size": 0}},
            "'engine_config.max_batch_size': Input should be greater than or equal to 1",
            "engine_config.max_batch_size",
        ),
        (
            {"engine_config": {"speed": 11}},
            "'engine_config.speed': unknown field; accepted: batching, kv_cache_bytes",
            "engine_config.speed",
        ),
    ],
)
def test_bad_load_options_are_refused_before_loading(
    tiny_chat_package: Path, options: dict[str, Any], message: str, param: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message) as caught:
        modelport.load_model(tiny_chat_package, **options)
    assert caught.value.param == param


def test_stats_are_the_engines_counters(tiny_chat: Any) -> None:
    before = tiny_chat.stats()
    reply = tiny_chat.predict({"messages": HELLO, "temperature": 0, "max_tokens": 5})
    after = tiny_chat.stats()
    generated = reply["usage"]["completion_tokens"]
    assert after["tokens_generated"] - before["tokens_generated"] == generated
    assert after["running"] == after["waiting"] == 0


def test_a_cancelled_server_request_stops_its_generation(tiny_chat: Any) -> None:
    from modelport.cancellation import CancelToken, bind_token

    request = {"messages": HELLO, "temperature": 0, "max_tokens": 90}
    assert tiny_chat.predict(request)["usage"]["completion_tokens"] == 90  # when not cancelled
    token = CancelToken()
    token.cancel()  # the request's time limit passed, or its client left
    with bind_token(token):
        response = tiny_chat.predict(request)
    assert response["usage"]["completion_tokens"] < 90


def test_concurrent_requests_each_get_their_own_answer(
    tiny_chat: Any, tiny_llama: tuple[Any, Any]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    conversations = [[{"role": "user", "content": "word " * k}] for k in (1, 5, 9, 13)]
    requests = [
        {"messages": m, "temperature": 0, "max_tokens": 3 + i} for i, m in enumerate(conversations)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(tiny_chat.predict, requests))
    for i, (conversation, response) in enumerate(zip(conversations, responses, strict=True)):
        assert response["usage"]["prompt_tokens"] == len(_prompt_ids(tiny_llama[1], conversation))
        assert response["usage"]["completion_tokens"] == 3 + i
        assert response["choices"][0]["finish_reason"] == "length"
