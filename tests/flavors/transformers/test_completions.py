"""The completions and text-generation tasks on the tiny random Llama."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai.types import Completion

import modelport
import modelport.transformers
from modelport.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    SchemaEnforcementError,
    UnsupportedFeatureError,
)


@pytest.fixture(scope="module")
def completions(tmp_path_factory: pytest.TempPathFactory, tiny_llama_folder: Path) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("completions") / "pkg"
    modelport.transformers.save_model(
        path,
        transformers_model=tiny_llama_folder,
        task="llm/v1/completions",
        save_pretrained=False,
        dtype="float32",
        progress=False,
    )
    loaded = modelport.load_model(path)
    yield loaded
    loaded.unwrap_python_model().close()


@pytest.fixture(scope="module")
def text_generation(
    tmp_path_factory: pytest.TempPathFactory, tiny_llama_folder: Path
) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("text-generation") / "pkg"
    modelport.transformers.save_model(
        path,
        transformers_model=tiny_llama_folder,
        task="text-generation",
        save_pretrained=False,
        dtype="float32",
        progress=False,
    )
    loaded = modelport.load_model(path)
    yield loaded
    loaded.unwrap_python_model().close()


def test_a_prompt_list_gives_n_choices_per_prompt(
    completions: Any, tiny_llama: tuple[Any, Any]
) -> None:
    tokenizer = tiny_llama[1]
    prompts = ["The sky is", "Once upon a time"]
    response = completions.predict({"prompt": prompts, "n": 2, "max_tokens": 4, "temperature": 0})
    Completion.model_validate(response)
    assert response["object"] == "text_completion"
    assert [c["index"] for c in response["choices"]] == [0, 1, 2, 3]
    # greedy: both choices of a prompt agree
    texts = [c["text"] for c in response["choices"]]
    assert texts[0] == texts[1]
    assert texts[2] == texts[3]
    assert response["usage"]["prompt_tokens"] == sum(
        len(tokenizer(p)["input_ids"]) for p in prompts
    )
    assert response["usage"]["completion_tokens"] <= 16


def test_completion_default_max_tokens_is_16(completions: Any) -> None:
    response = completions.predict({"prompt": "Hello", "temperature": 0})
    assert response["choices"][0]["finish_reason"] == "length"  # greedy: no early stop here
    assert response["usage"]["completion_tokens"] == 16


def test_echo_prepends_the_prompt(completions: Any) -> None:
    plain = completions.predict({"prompt": "Hello", "max_tokens": 3, "temperature": 0})
    echoed = completions.predict(
        {"prompt": "Hello", "max_tokens": 3, "temperature": 0, "echo": True}
    )
    assert echoed["choices"][0]["text"] == "Hello" + plain["choices"][0]["text"]


def test_completion_stream_equals_the_response(completions: Any) -> None:
    request = {"prompt": ["A", "B"], "max_tokens": 5, "temperature": 0}
    response = completions.predict(request)
    chunks = list(
        completions.predict_stream({**request, "stream_options": {"include_usage": True}})
    )
    # (the SDK's Completion type has no null finish_reason, so stream chunks are not checked by it)
    assert all(chunk["object"] == "text_completion" for chunk in chunks)
    texts: dict[int, str] = {}
    for chunk in chunks[:-1]:
        for choice in chunk["choices"]:
            texts[choice["index"]] = texts.get(choice["index"], "") + choice["text"]
    assert [texts[c["index"]] for c in response["choices"]] == [
        c["text"] for c in response["choices"]
    ]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == response["usage"]


def test_completion_bad_requests(completions: Any) -> None:
    with pytest.raises(UnsupportedFeatureError, match="suffix"):
        completions.predict({"prompt": "Hi", "suffix": "end"})
    with pytest.raises(UnsupportedFeatureError, match="echo or logprobs"):
        completions.predict({"prompt": "Hi", "logprobs": 2, "echo": True})
    with pytest.raises(InvalidRequestError, match="logprobs"):
        completions.predict({"prompt": "Hi", "logprobs": 6})
    with pytest.raises(InvalidRequestError, match="prompt"):
        completions.predict({"prompt": []})


def test_a_default_limit_is_cut_but_a_sent_one_must_fit(
    completions: Any, text_generation: Any
) -> None:
    long = "word " * 110  # near the tiny model's 128-token context
    assert completions.predict({"prompt": long})["choices"][0]["finish_reason"] == "length"
    assert text_generation.predict(long)  # text-generation's own default is cut too
    with pytest.raises(ContextLengthExceededError) as caught:
        completions.predict({"prompt": long, "max_tokens": 100})
    assert caught.value.param == "max_tokens"


def test_completion_logprobs_are_the_legacy_shape(completions: Any) -> None:
    request = {"prompt": "Once", "max_tokens": 6, "temperature": 0, "logprobs": 2}
    choice = completions.predict(request)["choices"][0]
    logprobs = choice["logprobs"]
    assert len(logprobs["tokens"]) == len(logprobs["token_logprobs"]) == 6
    assert "".join(logprobs["tokens"]) == choice["text"]
    assert logprobs["text_offset"] == [
        sum(len(t) for t in logprobs["tokens"][:i]) for i in range(6)
    ]
    for token, logprob, top in zip(
        logprobs["tokens"], logprobs["token_logprobs"], logprobs["top_logprobs"], strict=True
    ):
        assert len(top) == 2 and max(top.values()) == pytest.approx(logprob)  # greedy
        assert top[token] == pytest.approx(logprob)
    streamed = [
        c["choices"][0]["logprobs"]
        for c in completions.predict_stream(request)
        if c["choices"] and c["choices"][0].get("logprobs")
    ]
    assert [t for part in streamed for t in part["tokens"]] == logprobs["tokens"]
    assert [o for part in streamed for o in part["text_offset"]] == logprobs["text_offset"]


def test_text_generation_takes_strings_and_gives_strings(text_generation: Any) -> None:
    outputs = text_generation.predict(["The sky is", "Hello"], params={"max_new_tokens": 3})
    assert isinstance(outputs, list)
    assert len(outputs) == 2
    assert all(isinstance(text, str) for text in outputs)
    # greedy by default: the same prompt gives the same text
    assert text_generation.predict("Hello", params={"max_new_tokens": 3}) == [outputs[1]]


def test_text_generation_signature_lists_params_with_defaults(text_generation: Any) -> None:
    signature = text_generation.metadata.signature
    assert signature.param_defaults() == {"temperature": 0.0}
    with pytest.raises(SchemaEnforcementError, match="max_new_tokens"):
        text_generation.predict("Hello", params={"max_length": 3})


def test_a_cancelled_server_request_stops_its_generation(completions: Any) -> None:
    from modelport.cancellation import CancelToken, bind_token

    request = {"prompt": "Hello", "max_tokens": 100, "temperature": 0}
    assert completions.predict(request)["usage"]["completion_tokens"] == 100  # when not cancelled
    token = CancelToken()
    token.cancel()  # the client left before the model ran
    with bind_token(token):
        response = completions.predict(request)
    assert response["usage"]["completion_tokens"] < 100
