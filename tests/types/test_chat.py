"""The chat wire types, checked against the official ``openai`` SDK's own models (the oracle)."""

from __future__ import annotations

from typing import Any

import openai.types.chat as oai_chat
import pytest

from modelport.errors import InvalidRequestError
from modelport.types import (
    ChatChoice,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessage,
    ChatParams,
    ContentPart,
    ErrorResponse,
    ResponseFormat,
    TokenUsageStats,
    ToolCall,
    Usage,
)

USER = {"role": "user", "content": "Hello"}


def request(**fields: Any) -> dict[str, Any]:
    return {"messages": [USER], **fields}


# --- responses against the SDK ----------------------------------------------------------------


def test_response_from_nested_dicts_parses_with_the_openai_sdk() -> None:
    response = ChatCompletionResponse(
        model="m", choices=[{"index": 0, "message": {"role": "assistant", "content": "hi"}}]
    )

    parsed = oai_chat.ChatCompletion.model_validate(response.to_dict())

    assert parsed.choices[0].message.content == "hi"
    assert parsed.choices[0].finish_reason == "stop"
    assert parsed.object == "chat.completion"
    assert parsed.id.startswith("chatcmpl-")
    assert parsed.model == "m"
    assert parsed.usage is None


def test_response_with_usage_tool_calls_and_custom_outputs_parses_with_the_sdk() -> None:
    response = ChatCompletionResponse(
        model="m",
        choices=[
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "tool_calls": [
                        {"function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
                    ],
                },
            },
            {"index": 1, "message": {"role": "assistant", "content": "second"}},
        ],
        usage={"prompt_tokens": 5, "completion_tokens": 7},
        custom_outputs={"seed": "abc"},
    )
    data = response.to_dict()

    parsed = oai_chat.ChatCompletion.model_validate(data)

    call = parsed.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert call.id.startswith("call")
    assert parsed.choices[1].message.content == "second"
    assert parsed.usage is not None and parsed.usage.total_tokens == 12
    assert data["custom_outputs"] == {"seed": "abc"}


def test_chunk_with_a_delta_parses_with_the_sdk_and_sends_a_null_finish_reason() -> None:
    chunk = ChatCompletionChunk(
        model="m", choices=[{"delta": {"role": "assistant", "content": "Hel"}}]
    )
    data = chunk.to_dict()

    parsed = oai_chat.ChatCompletionChunk.model_validate(data)

    assert parsed.choices[0].delta.content == "Hel"
    assert parsed.object == "chat.completion.chunk"
    # OpenAI always sends finish_reason (null until the last chunk): JS clients test !== null
    assert data["choices"][0]["finish_reason"] is None


def test_usage_only_chunk_with_empty_choices_parses_with_the_sdk() -> None:
    chunk = ChatCompletionChunk(model="m", usage={"prompt_tokens": 3, "completion_tokens": 4})

    parsed = oai_chat.ChatCompletionChunk.model_validate(chunk.to_dict())

    assert parsed.choices == []
    assert parsed.usage is not None
    assert (parsed.usage.prompt_tokens, parsed.usage.total_tokens) == (3, 7)


def test_last_chunk_carries_its_finish_reason() -> None:
    chunk = ChatCompletionChunk(choices=[{"delta": {}, "finish_reason": "length"}])

    parsed = oai_chat.ChatCompletionChunk.model_validate(chunk.to_dict())

    assert parsed.choices[0].finish_reason == "length"


def test_error_response_keeps_null_param_and_code_as_openai_does() -> None:
    error = ErrorResponse(error={"message": "bad", "type": "invalid_request_error"})

    assert error.to_dict() == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}
    }


# --- to_dict and defaults ---------------------------------------------------------------------


def test_to_dict_leaves_out_none_fields() -> None:
    response = ChatCompletionResponse(
        choices=[ChatChoice(message=ChatMessage(role="assistant", content="x"))]
    )
    data = response.to_dict()

    assert "usage" not in data
    assert "system_fingerprint" not in data
    assert "custom_outputs" not in data
    assert "logprobs" not in data["choices"][0]


def test_chat_message_to_dict_is_role_and_content() -> None:
    assert ChatMessage(role="user", content="hi").to_dict() == {"role": "user", "content": "hi"}


def test_message_text_joins_text_parts() -> None:
    message = ChatMessage(
        role="user",
        content=[
            {"type": "text", "text": "a"},
            {"type": "image_url", "image_url": {"url": "x"}},
            {"type": "text", "text": "b"},
        ],
    )

    assert message.text == "ab"


def test_usage_fills_total_tokens() -> None:
    assert Usage(prompt_tokens=2, completion_tokens=3).total_tokens == 5


def test_tool_call_gets_an_id() -> None:
    call = ToolCall(function={"name": "f"})

    assert call.id.startswith("call-") and call.function.arguments == "{}"


# --- requests: ranges and messages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 5),
        ("temperature", -0.1),
        ("top_p", 0),
        ("top_p", 1.5),
        ("n", 0),
        ("max_tokens", 0),
        ("max_completion_tokens", 0),
        ("presence_penalty", 3),
        ("presence_penalty", -3),
        ("frequency_penalty", 3),
        ("frequency_penalty", -3),
        ("stop", ["a", "b", "c", "d", "e"]),
        ("stop", ""),
        ("top_logprobs", 21),
        ("seed", 2**63),
        ("seed", 1180591620717411303424),
        ("seed", -(2**63) - 1),
        ("top_k", 2**31),
        ("stop", "x" * 1025),
        ("stop", ["ok", "x" * 5000]),
        ("logit_bias", {"5": 101}),
        ("logit_bias", {"5": -100.5}),
        ("logit_bias", {"hello": 1}),
        ("logit_bias", {"-3": 1}),
        ("logit_bias", ["5"]),
    ],
)
def test_out_of_range_param_raises_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ChatCompletionRequest.parse(request(**{field: value}))

    assert caught.value.param == field
    assert field in caught.value.message
    assert caught.value.status_code == 400


def test_params_at_the_edges_of_their_ranges_are_accepted() -> None:
    parsed = ChatCompletionRequest.parse(
        request(
            temperature=2,
            top_p=1,
            n=1,
            max_tokens=1,
            presence_penalty=-2,
            frequency_penalty=2,
            stop=["a", "b", "c", "x" * 1024],
            seed=2**63 - 1,
            top_k=2**31 - 1,
            logit_bias={"0": -100, "49151": 100},
        )
    )

    assert parsed.temperature == 2.0 and parsed.stop_sequences == ["a", "b", "c", "x" * 1024]
    assert ChatCompletionRequest.parse(request(seed=-(2**63))).seed == -(2**63)
    assert parsed.logit_bias == {"0": -100.0, "49151": 100.0}


def test_missing_role_names_the_message_field() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ChatCompletionRequest.parse({"messages": [{"content": "hi"}]})

    assert caught.value.param == "messages[0].role"
    assert "required" in caught.value.message


def test_unknown_role_lists_the_accepted_roles() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ChatCompletionRequest.parse({"messages": [USER, {"role": "wizard", "content": "x"}]})

    assert caught.value.param == "messages[1].role"
    assert "'wizard'" in caught.value.message
    for role in ("system", "developer", "user", "assistant", "tool"):
        assert role in caught.value.message


@pytest.mark.parametrize("body", [{"messages": []}, {}, {"messages": "hello"}])
def test_missing_or_empty_messages_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ChatCompletionRequest.parse(body)

    assert caught.value.param == "messages"


def test_a_request_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="expected a JSON object, got list"):
        ChatCompletionRequest.parse([USER])


@pytest.mark.parametrize(
    ("message", "needs"),
    [
        ({"role": "tool", "content": "42"}, "tool_call_id"),
        ({"role": "user"}, "content"),
        ({"role": "assistant"}, "tool_calls"),
    ],
)
def test_messages_missing_what_their_role_needs_are_refused(
    message: dict[str, Any], needs: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ChatCompletionRequest.parse({"messages": [message]})

    assert caught.value.param == "messages[0]"
    assert needs in caught.value.message


def test_unknown_request_fields_are_accepted_and_reported() -> None:
    parsed = ChatCompletionRequest.parse(request(max_tokens=5, metadata={"a": 1}, store=True))

    assert parsed.ignored_fields() == ["metadata", "store"]
    assert "store" not in parsed.to_dict()
    assert parsed.params.max_tokens == 5


def test_params_read_as_attributes() -> None:
    parsed = ChatCompletionRequest.parse(
        request(max_tokens=7, temperature=0.3, stop="END", custom_inputs={"seed": "abc"})
    )
    params = parsed.params

    assert isinstance(params, ChatParams)
    assert params.custom_inputs is not None
    assert params.custom_inputs.get("seed") == "abc"
    assert params.max_tokens == 7
    assert params.temperature == 0.3
    assert params.stop == "END"
    assert params.stop_sequences == ["END"]
    assert params.custom_inputs.get("missing") is None


def test_params_defaults_follow_openai() -> None:
    params = ChatCompletionRequest.parse(request()).params

    assert (params.n, params.temperature, params.stream) == (1, 1.0, False)
    # custom_inputs is None when not sent, as in MLflow (tutorials test `is not None`)
    assert params.max_tokens is None and params.custom_inputs is None
    assert params.token_limit is None and params.include_usage is False


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    params = ChatCompletionRequest.parse(request(max_tokens=9, max_completion_tokens=4)).params

    assert params.token_limit == 4


def test_stream_options_include_usage() -> None:
    params = ChatCompletionRequest.parse(
        request(stream=True, stream_options={"include_usage": True})
    ).params

    assert params.include_usage is True


def test_tools_are_parsed_into_definitions() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]

    params = ChatCompletionRequest.parse(request(tools=tools, tool_choice="auto")).params

    assert params.tools is not None and params.tools[0].function.name == "f"
    assert params.tool_choice == "auto"


def test_an_sdk_built_request_is_accepted() -> None:
    sdk_messages: list[oai_chat.ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
    ]

    parsed = ChatCompletionRequest.parse({"model": "m", "messages": sdk_messages, "seed": 1})

    assert [m.role for m in parsed.messages] == ["system", "user"]
    assert parsed.messages[1].text == "Hi"
    assert parsed.model == "m"


def test_content_parts_keep_their_own_fields() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}

    assert ContentPart.parse(part).to_dict() == part
    assert ChatMessage(role="user", content=[part]).to_dict() == {"role": "user", "content": [part]}


def test_response_format_keeps_its_fields() -> None:
    given = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}, "strict": True}

    assert ResponseFormat.parse(given).to_dict() == given


def test_mlflow_names_from_dict_and_token_usage_stats() -> None:
    data = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        "usage": TokenUsageStats(prompt_tokens=1, completion_tokens=2, total_tokens=3),
    }

    response = ChatCompletionResponse.from_dict(data)

    assert response.usage == Usage(prompt_tokens=1, completion_tokens=2)
    assert ChatMessage.from_dict({"role": "user", "content": "x"}).text == "x"
    with pytest.raises(InvalidRequestError, match="'choices'"):
        ChatCompletionResponse.from_dict({"model": "m"})
