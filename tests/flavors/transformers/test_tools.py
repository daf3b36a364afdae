"""Tools on a transformers chat model: forced calls are valid calls, auto answers are parsed,
streamed deltas follow OpenAI's format, in the generic format (the demo tokenizer's template
takes no tools) and in a native one (a Hermes-style template)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import modelport
from modelport.errors import InvalidRequestError, PackageError

ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 12},
        "unit": {"enum": ["c", "f"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TIME = {
    "type": "object",
    "properties": {"tz": {"enum": ["UTC", "CET"]}},
    "required": ["tz"],
    "additionalProperties": False,
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_time", "parameters": TIME}},
]
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
# A Hermes-style template (Qwen's telltale <tool_call>): tools go into the system prompt.
HERMES = (
    "{% if tools %}<|im_start|>system\nTools: {{ tools | tojson }}\nCall them as "
    '<tool_call>{"name": ..., "arguments": ...}</tool_call><|im_end|>\n{% endif %}'
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content or '' }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def request(**fields: Any) -> dict[str, Any]:
    return {"messages": ASK, "tools": TOOLS, "max_tokens": 90, "seed": 0, **fields}


def check_calls(message: dict[str, Any], names: set[str]) -> list[dict[str, Any]]:
    calls = message["tool_calls"]
    assert calls
    for call in calls:
        assert call["type"] == "function" and call["id"].startswith("call_")
        assert call["function"]["name"] in names
        arguments = json.loads(call["function"]["arguments"])
        jsonschema.validate(arguments, SCHEMAS[call["function"]["name"]])
    return list(calls)


@pytest.fixture(scope="module")
def long_llama_folder(
    tmp_path_factory: pytest.TempPathFactory, make_tiny_llama: Any, demo_tokenizer: Any
) -> Path:
    """The tiny random Llama with room for the tools' system message (context 1024)."""
    folder = tmp_path_factory.mktemp("tiny-llama-1k") / "TinyLlama"
    make_tiny_llama(hidden_size=32, context=1024).save_pretrained(folder)
    demo_tokenizer.save_pretrained(folder)
    return folder


def _load(path: Path, source: Any, **save_options: Any) -> Any:
    from modelport.flavors.transformers import save_model

    save_model(
        path,
        transformers_model=source,
        task="llm/v1/chat",
        dtype="float32",
        progress=False,
        **save_options,
    )
    return modelport.load_model(path)


@pytest.fixture(scope="module")
def tools_package(tmp_path_factory: pytest.TempPathFactory, long_llama_folder: Path) -> Path:
    from modelport.flavors.transformers import save_model

    path = tmp_path_factory.mktemp("packages") / "tiny-tools"
    save_model(
        path,
        transformers_model=long_llama_folder,
        task="llm/v1/chat",
        dtype="float32",
        progress=False,
    )
    return path


@pytest.fixture(scope="module")
def tool_chat(tools_package: Path) -> Any:
    loaded = modelport.load_model(tools_package)
    yield loaded
    loaded.unwrap_python_model().close()


@pytest.fixture(scope="module")
def hermes_chat(tmp_path_factory: pytest.TempPathFactory, long_llama_folder: Path) -> Any:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tmp_path_factory.mktemp("packages") / "tiny-hermes"
    pair = {
        "model": AutoModelForCausalLM.from_pretrained(long_llama_folder),
        "tokenizer": AutoTokenizer.from_pretrained(long_llama_folder),
    }
    loaded = _load(path, pair, chat_template=HERMES)
    yield loaded
    loaded.unwrap_python_model().close()


def test_the_demo_template_gets_the_generic_format(tool_chat: Any) -> None:
    support = tool_chat.unwrap_python_model().tool_support
    assert (support.format.name, support.native) == ("generic", False)


@pytest.mark.parametrize("seed", range(8))
def test_required_gives_valid_calls_of_the_tools(tool_chat: Any, seed: int) -> None:
    choice = tool_chat.predict(request(tool_choice="required", seed=seed, temperature=1.0))[
        "choices"
    ][0]
    assert choice["finish_reason"] == "tool_calls"
    check_calls(choice["message"], {"get_weather", "get_time"})


def test_a_named_function_is_the_one_called(tool_chat: Any) -> None:
    choice = tool_chat.predict(
        request(tool_choice={"type": "function", "function": {"name": "get_time"}})
    )["choices"][0]
    assert [c["function"]["name"] for c in check_calls(choice["message"], {"get_time"})] == [
        "get_time"
    ] * len(choice["message"]["tool_calls"])


def test_parallel_tool_calls_false_gives_one_call(tool_chat: Any) -> None:
    for seed in range(4):
        choice = tool_chat.predict(
            request(tool_choice="required", parallel_tool_calls=False, seed=seed, temperature=1.0)
        )["choices"][0]
        assert len(check_calls(choice["message"], set(SCHEMAS))) == 1


def test_streamed_calls_follow_openais_delta_format(tool_chat: Any) -> None:
    body = request(tool_choice="required", temperature=1.0, seed=3)
    whole = tool_chat.predict(body)["choices"][0]["message"]["tool_calls"]
    chunks = list(tool_chat.predict_stream(body))
    deltas = [
        item
        for chunk in chunks
        for choice in chunk["choices"]
        for item in choice["delta"].get("tool_calls") or []
    ]
    calls: dict[int, dict[str, Any]] = {}
    for item in deltas:
        if item["index"] not in calls:  # the first delta of a call: id, type, name
            assert item["id"].startswith("call_") and item["type"] == "function"
            assert item["function"]["name"] in SCHEMAS and item["function"]["arguments"] == ""
            calls[item["index"]] = {"name": item["function"]["name"], "arguments": ""}
        else:  # later ones: only argument fragments
            assert set(item) == {"index", "function"} and set(item["function"]) == {"arguments"}
            calls[item["index"]]["arguments"] += item["function"]["arguments"]
    assert [(c["name"], c["arguments"]) for c in calls.values()] == [
        (c["function"]["name"], c["function"]["arguments"]) for c in whole
    ]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "tool_calls"
    assert not any(c["choices"][0]["delta"].get("content") for c in chunks[1:] if c["choices"])


def test_auto_lets_the_model_answer_in_text(tool_chat: Any) -> None:
    # a random model does not write the generic JSON: its answer is text, unchanged
    plain = tool_chat.predict({"messages": ASK, "max_tokens": 20, "temperature": 0})
    choice = tool_chat.predict(request(tool_choice="auto", max_tokens=20, temperature=0))
    message = choice["choices"][0]["message"]
    assert "tool_calls" not in message and isinstance(message["content"], str)
    assert choice["choices"][0]["finish_reason"] in ("stop", "length")
    assert plain["choices"][0]["finish_reason"] in ("stop", "length")


def test_a_conversation_with_tool_results_renders(tool_chat: Any) -> None:
    conversation = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris","unit":"c"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"},
    ]
    reply = tool_chat.predict({"messages": conversation, "tools": TOOLS, "max_tokens": 5})
    assert reply["usage"]["prompt_tokens"] > 0


def test_a_native_template_is_detected_and_enforced(hermes_chat: Any) -> None:
    support = hermes_chat.unwrap_python_model().tool_support
    assert (support.format.name, support.native) == ("hermes", True)
    for seed in range(4):
        one = request(tool_choice="required", seed=seed, temperature=1.0, parallel_tool_calls=False)
        choice = hermes_chat.predict(one)["choices"][0]
        assert choice["finish_reason"] == "tool_calls", choice
        assert len(check_calls(choice["message"], set(SCHEMAS))) == 1
        # with parallel calls a random model may go on calling until max_tokens: each call
        # that closed is still a valid one
        many = hermes_chat.predict(request(tool_choice="required", seed=seed, temperature=1.0))
        check_calls(many["choices"][0]["message"], set(SCHEMAS))


def test_the_format_can_be_chosen_at_load(tools_package: Path, hermes_chat: Any) -> None:
    with pytest.raises(PackageError, match="needs a chat template that takes tools"):
        modelport.load_model(tools_package, tool_call_format="hermes")
    with pytest.raises(InvalidRequestError, match="generic"):
        modelport.load_model(tools_package, tool_call_format="nope")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": {"type": "function", "function": {"name": "unknown"}}}, "tool_choice"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 5}}}]},
            "tools[0].function.parameters",
        ),
        ({"tools": [{"type": "retrieval", "function": {"name": "f"}}]}, "tools[0].type"),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {"type": "object", "x-guidance": "abc"},
                        },
                    }
                ],
                "tool_choice": "required",
            },
            "tools[0].function.parameters",
        ),
        (
            {"tool_choice": "required", "response_format": {"type": "json_object"}},
            "response_format",
        ),
    ],
)
def test_bad_tool_requests_are_a_400_naming_the_field(
    tool_chat: Any, fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        tool_chat.predict(request(**fields))
    assert caught.value.param == param


def test_tool_choice_none_sends_no_tools(tool_chat: Any) -> None:
    plain = tool_chat.predict({"messages": ASK, "max_tokens": 4, "temperature": 0})
    none = tool_chat.predict(request(tool_choice="none", max_tokens=4, temperature=0))
    assert none["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"]
    assert none["choices"][0]["message"] == plain["choices"][0]["message"]


def test_info_shows_the_tool_call_format(
    tools_package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelport.cli.main import main

    assert main(["info", "-m", str(tools_package)]) == 0
    out = capsys.readouterr().out
    assert "tool-call format" in out and "generic" in out


def test_the_server_flag_is_the_load_option() -> None:
    import argparse

    from modelport.cli.main import build_parser
    from modelport.cli.serve import _load_options

    args = build_parser().parse_args(["serve", "-m", "x", "--tool-call-format", "hermes"])
    assert isinstance(args, argparse.Namespace)
    assert _load_options(args) == {"tool_call_format": "hermes"}


def test_streamed_calls_carry_every_tokens_logprobs(tool_chat: Any) -> None:
    body = request(
        tool_choice="required",
        logprobs=True,
        top_logprobs=1,
        temperature=0,
        stream_options={"include_usage": True},
    )
    chunks = list(tool_chat.predict_stream(body))
    entries = [
        entry
        for chunk in chunks
        for choice in chunk["choices"]
        for entry in (choice.get("logprobs") or {}).get("content") or []
    ]
    assert len(entries) == chunks[-1]["usage"]["completion_tokens"]
