"""The (legacy) completions wire types, checked against the official ``openai`` SDK's models."""

from __future__ import annotations

from typing import Any

import openai.types as oai
import pytest

from modelport.errors import InvalidRequestError
from modelport.types import CompletionChunk, CompletionRequest, CompletionResponse


def test_response_from_nested_dicts_parses_with_the_openai_sdk() -> None:
    response = CompletionResponse(
        model="m",
        choices=[{"text": "Paris"}, {"index": 1, "text": "Lyon", "finish_reason": "length"}],
        usage={"prompt_tokens": 4, "completion_tokens": 2},
    )

    parsed = oai.Completion.model_validate(response.to_dict())

    assert [c.text for c in parsed.choices] == ["Paris", "Lyon"]
    assert [c.finish_reason for c in parsed.choices] == ["stop", "length"]
    assert parsed.object == "text_completion"
    assert parsed.id.startswith("cmpl-")
    assert parsed.usage is not None and parsed.usage.total_tokens == 6


def test_last_chunk_parses_with_the_sdk() -> None:
    chunk = CompletionChunk(model="m", choices=[{"text": "!", "finish_reason": "stop"}])

    parsed = oai.Completion.model_validate(chunk.to_dict())

    assert parsed.choices[0].text == "!"


def test_middle_chunk_sends_a_null_finish_reason_as_openai_does() -> None:
    data = CompletionChunk(model="m", choices=[{"text": "Par", "finish_reason": None}]).to_dict()

    assert data["choices"][0] == {"index": 0, "text": "Par", "finish_reason": None}
    # the SDK builds stream chunks without validation; the shape must still be its own
    built = oai.Completion.construct(**data)
    assert built.choices[0].text == "Par"
    assert built.choices[0].finish_reason is None


def test_usage_only_chunk_parses_with_the_sdk() -> None:
    chunk = CompletionChunk(choices=[], usage={"prompt_tokens": 1, "completion_tokens": 1})

    parsed = oai.Completion.model_validate(chunk.to_dict())

    assert parsed.choices == [] and parsed.usage is not None


def test_prompt_string_or_list() -> None:
    assert CompletionRequest.parse({"prompt": "a"}).prompts == ["a"]
    assert CompletionRequest.parse({"prompt": ["a", "b"]}).prompts == ["a", "b"]


def test_default_max_tokens_is_openais_16() -> None:
    assert CompletionRequest.parse({"prompt": "a"}).params.max_tokens == 16


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", []),
        ("temperature", 2.5),
        ("top_p", 0),
        ("n", 0),
        ("max_tokens", 0),
        ("logprobs", 6),
        ("presence_penalty", 2.1),
        ("stop", ["1", "2", "3", "4", "5"]),
    ],
)
def test_bad_fields_raise_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        CompletionRequest.parse({"prompt": "a", field: value})

    assert caught.value.param == field


def test_missing_prompt_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        CompletionRequest.parse({"max_tokens": 3})

    assert caught.value.param == "prompt"


def test_unknown_fields_are_reported_and_left_out_of_params() -> None:
    parsed = CompletionRequest.parse({"prompt": "a", "best_of": 2, "max_tokens": 3})

    assert parsed.ignored_fields() == ["best_of"]
    assert parsed.params.max_tokens == 3
    assert parsed.params.ignored_fields() == []
