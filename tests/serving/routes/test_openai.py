"""The OpenAI endpoints, driven by the official openai SDK (sync and async)."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk

HELLO = [{"role": "user", "content": "hello there friend"}]


@pytest.fixture
def client(shared_server):
    with openai.OpenAI(base_url=shared_server.v1, api_key="unused", max_retries=0) as client:
        yield client


def test_chat_completion_is_one_valid_chat_completion(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="echo", messages=HELLO)
    assert isinstance(reply, ChatCompletion)
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == "hello there friend"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "echo"  # the model left it empty: the served name fills it
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    ChatCompletion.model_validate(reply.model_dump())


def test_n_gives_n_choices(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="echo", messages=HELLO, n=3)
    assert [c.index for c in reply.choices] == [0, 1, 2]


def test_max_tokens_and_stop_reach_the_model(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="echo", messages=HELLO, max_tokens=2)
    assert reply.choices[0].message.content == "hello there"
    assert reply.choices[0].finish_reason == "length"
    reply = client.chat.completions.create(model="echo", messages=HELLO, stop=["friend"])
    assert reply.choices[0].message.content == "hello there"


def test_stream_with_include_usage_ends_with_a_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="echo", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello there friend"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3
    assert {c.model for c in chunks} == {"echo"}
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}


def test_stream_without_include_usage_has_no_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="echo", messages=HELLO, stream=True))
    assert chunks and all(c.usage is None and c.choices for c in chunks)


def test_stream_with_n_streams_every_choice(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="echo", messages=HELLO, stream=True, n=2))
    for index in (0, 1):
        text = "".join(
            c.choices[0].delta.content or ""
            for c in chunks
            if c.choices and c.choices[0].index == index
        )
        assert text == "hello there friend"


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = sorted(m.id for m in client.models.list())
    assert ids == ["async", "echo", "lengths", "shout"]
    assert client.models.retrieve("echo").id == "echo"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_completions(client: openai.OpenAI) -> None:
    reply = client.completions.create(model="shout", prompt="quiet please", max_tokens=50)
    assert isinstance(reply, Completion)
    assert reply.choices[0].text == "QUIET PLEASE"
    chunks = list(
        client.completions.create(model="shout", prompt=["a", "b"], stream=True, max_tokens=5)
    )
    assert sorted(c.choices[0].text for c in chunks if c.choices) == ["A", "B"]


def test_unknown_model_is_404_naming_the_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="nope", messages=HELLO)
    assert caught.value.status_code == 404
    assert caught.value.body["param"] == "model"  # type: ignore[index]
    assert "echo" in caught.value.message


def test_wrong_task_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="/v1/completions"):
        client.chat.completions.create(model="shout", messages=HELLO)


def test_model_error_is_a_safe_500(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(
            model="echo", messages=HELLO, extra_body={"custom_inputs": {"fail": True}}
        )
    assert caught.value.status_code == 500
    assert "secret internal detail" not in str(caught.value.body)
    assert "RuntimeError" in caught.value.message


def test_error_before_the_first_chunk_is_an_http_status(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="echo",
            messages=HELLO,
            stream=True,
            extra_body={"custom_inputs": {"fail": "stream-start"}},
        )


def test_error_mid_stream_is_an_error_event(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="echo",
        messages=HELLO,
        stream=True,
        extra_body={"custom_inputs": {"fail": "mid-stream"}},
    )
    with pytest.raises(openai.APIError) as caught:
        list(stream)
    assert "secret internal detail" not in caught.value.message


def test_invalid_params_are_400_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="echo", messages=HELLO, temperature=5)
    assert caught.value.body["param"] == "temperature"  # type: ignore[index]


@pytest.mark.anyio
async def test_async_client_against_an_async_model(shared_server) -> None:
    async with openai.AsyncOpenAI(base_url=shared_server.v1, api_key="x", max_retries=0) as client:
        reply = await client.chat.completions.create(model="async", messages=HELLO)
        assert reply.choices[0].message.content == "async reply"
        stream = await client.chat.completions.create(model="async", messages=HELLO, stream=True)
        words = [c.choices[0].delta.content async for c in stream if c.choices]
        assert words == ["async", "stream"]


def test_unknown_fields_are_accepted(shared_server) -> None:
    reply = httpx.post(
        f"{shared_server.v1}/chat/completions",
        json={"model": "echo", "messages": HELLO, "brand_new_option": {"x": 1}},
    )
    assert reply.status_code == 200
