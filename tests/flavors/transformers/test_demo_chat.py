"""Integration: the real demo model (SmolLM2-135M-Instruct) behind the chat adapter."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

pytestmark = pytest.mark.slow

CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]
CAPITAL_REQUEST = {"messages": CAPITAL, "temperature": 0, "max_tokens": 20}


def _text(response: dict[str, Any], index: int = 0) -> str:
    return str(response["choices"][index]["message"]["content"])


def _streamed_text(demo_chat: Any, request: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    chunks = list(demo_chat.predict_stream(request))
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    return text, chunks


@pytest.fixture(scope="module")
def capital_answer(demo_chat: Any) -> dict[str, Any]:
    """The greedy answer to CAPITAL_REQUEST (computed once: the model is slow on 2 cores)."""
    response: dict[str, Any] = demo_chat.predict(CAPITAL_REQUEST)
    return response


def test_greedy_answer_names_paris(capital_answer: dict[str, Any]) -> None:
    response = capital_answer
    ChatCompletion.model_validate(response)
    assert "Paris" in _text(response)
    assert response["choices"][0]["finish_reason"] == "stop"
    assert response["model"] == "SmolLM2-135M-Instruct"


def test_streaming_equals_the_non_streamed_answer(
    demo_chat: Any, capital_answer: dict[str, Any]
) -> None:
    text, chunks = _streamed_text(demo_chat, CAPITAL_REQUEST)
    assert text == _text(capital_answer)
    assert len(chunks) > 3  # token by token, not one block


def test_max_tokens_5_stops_for_length_after_5_tokens(demo_chat: Any) -> None:
    response = demo_chat.predict({"messages": CAPITAL, "temperature": 0, "max_tokens": 5})
    assert response["choices"][0]["finish_reason"] == "length"
    assert response["usage"]["completion_tokens"] == 5


def test_a_stop_string_cuts_the_answer(demo_chat: Any, capital_answer: dict[str, Any]) -> None:
    full = _text(capital_answer)
    assert "Paris" in full
    request = {**CAPITAL_REQUEST, "stop": ["Paris"]}
    response = demo_chat.predict(request)
    assert _text(response) == full[: full.index("Paris")]
    assert response["choices"][0]["finish_reason"] == "stop"
    streamed, _ = _streamed_text(demo_chat, request)
    assert streamed == _text(response)


def test_n_3_greedy_gives_3_equal_choices(demo_chat: Any) -> None:
    response = demo_chat.predict({"messages": CAPITAL, "temperature": 0, "max_tokens": 8, "n": 3})
    assert [c["index"] for c in response["choices"]] == [0, 1, 2]
    assert len({_text(response, i) for i in range(3)}) == 1
    assert "Paris" in _text(response)


def test_the_same_seed_gives_the_same_sampled_text(demo_chat: Any) -> None:
    request = {
        "messages": [{"role": "user", "content": "Tell me a short story about a cat."}],
        "temperature": 1.0,
        "max_tokens": 10,
        "seed": 1234,
    }
    first = _text(demo_chat.predict(request))
    assert _text(demo_chat.predict(request)) == first
    assert _text(demo_chat.predict({**request, "seed": 1})) != first


def test_emoji_stream_never_shows_a_partial_character(demo_chat: Any) -> None:
    # each 🎉 is three byte-level tokens: a naive per-token decode would show U+FFFD pieces
    request = {
        "messages": [{"role": "user", "content": "Reply with only this emoji: 🎉"}],
        "temperature": 0,
        "max_tokens": 9,
    }
    text, chunks = _streamed_text(demo_chat, request)
    assert "🎉" in text
    assert "\ufffd" not in text
    assert all("\ufffd" not in (c["choices"][0]["delta"].get("content") or "") for c in chunks)
    assert text == _text(demo_chat.predict(request))
