"""POST /invocations with raw HTTP, in every input format clients of `mlflow models serve` use."""

from __future__ import annotations

import json

import httpx
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk

# The body of the classic MLflow ChatModel tutorials, exactly.
TUTORIAL_BODY = {
    "messages": [{"role": "user", "content": "What is MLflow?"}],
    "max_tokens": 25,
    "temperature": 0.5,
}


def test_tutorial_chat_body_gives_one_chat_completion_object(http: httpx.Client) -> None:
    reply = http.post("/invocations", json={**TUTORIAL_BODY, "model": "echo"})
    assert reply.status_code == 200
    body = reply.json()
    assert isinstance(body, dict)  # one object, never a list
    completion = ChatCompletion.model_validate(body)
    assert completion.choices[0].message.content == "What is MLflow?"


def test_chat_params_may_come_in_a_params_object(http: httpx.Client) -> None:
    body = {"model": "echo", "messages": TUTORIAL_BODY["messages"], "params": {"max_tokens": 1}}
    reply = http.post("/invocations", json=body)
    assert reply.json()["choices"][0]["message"]["content"] == "What"


def test_chat_stream_on_invocations(http: httpx.Client) -> None:
    body = {**TUTORIAL_BODY, "model": "echo", "stream": True}
    with http.stream("POST", "/invocations", json=body) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in reply.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [ChatCompletionChunk.model_validate(json.loads(line[6:])) for line in lines[:-1]]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "What is MLflow?"
    )


def test_completions_prompt(http: httpx.Client) -> None:
    reply = http.post("/invocations", json={"model": "shout", "prompt": "abc"})
    assert Completion.model_validate(reply.json()).choices[0].text == "ABC"


def test_dataframe_split(http: httpx.Client) -> None:
    body = {
        "model": "lengths",
        "dataframe_split": {"columns": ["text"], "data": [["a"], ["abcd"]]},
        "params": {"scale": 10},
    }
    reply = http.post("/invocations", json=body)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"predictions": [10, 40]}


def test_dataframe_records(http: httpx.Client) -> None:
    body = {"model": "lengths", "dataframe_records": [{"text": "abc"}, {"text": "xy"}]}
    assert http.post("/invocations", json=body).json() == {"predictions": [3, 2]}


def test_instances(http: httpx.Client) -> None:
    body = {"model": "lengths", "instances": [{"text": "abc"}]}
    assert http.post("/invocations", json=body).json() == {"predictions": [3]}


def test_inputs(http: httpx.Client) -> None:
    body = {"model": "lengths", "inputs": {"text": ["hello", ""]}, "params": {"scale": 2}}
    assert http.post("/invocations", json=body).json() == {"predictions": [10, 0]}


def test_python_model_stream(http: httpx.Client) -> None:
    body = {"model": "lengths", "inputs": {"text": ["ab", "abc"]}, "stream": True}
    with http.stream("POST", "/invocations", json=body) as reply:
        lines = [line for line in reply.iter_lines() if line]
    assert lines == ['data: {"length": 2}', 'data: {"length": 3}', "data: [DONE]"]


def test_python_model_params_are_enforced(http: httpx.Client) -> None:
    body = {"model": "lengths", "inputs": {"text": ["ab"]}, "params": {"bogus": 1}}
    reply = http.post("/invocations", json=body)
    assert reply.status_code == 400
    assert "scale" in reply.json()["error"]["message"]


def test_python_model_without_a_known_format_names_the_formats(http: httpx.Client) -> None:
    reply = http.post("/invocations", json={"model": "lengths", "text": ["ab"]})
    assert reply.status_code == 400
    assert "dataframe_split" in reply.json()["error"]["message"]


def test_bad_dataframe_split_rows(http: httpx.Client) -> None:
    body = {"model": "lengths", "dataframe_split": {"columns": ["text"], "data": [["a", "b"]]}}
    reply = http.post("/invocations", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "dataframe_split.data[0]"


def test_chat_model_without_messages_says_what_to_send(http: httpx.Client) -> None:
    reply = http.post("/invocations", json={"model": "echo", "inputs": [1, 2]})
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "messages"
