"""The grammars that force calls, run by llguidance over the demo tokenizer: a valid call is
accepted (and parses back as that call), invalid arguments and unknown tools are refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modelport.structured.tools import get_format
from modelport.structured.tools.grammars import arguments_schema
from modelport.types import ToolDefinition

Accepts = Callable[..., bool]

# format → (one call of get_weather, the same call as a format writes it around other JSON)
CALL = {
    "hermes": '<tool_call>\n{"name":"get_weather","arguments":%s}\n</tool_call>',
    "llama3_json": '{"name":"get_weather","parameters":%s}',
    "mistral": '[TOOL_CALLS][{"name":"get_weather","arguments":%s}]',
    "generic": '{"tool_calls":[{"name":"get_weather","arguments":%s}]}',
}
TWO_CALLS = {
    "hermes": CALL["hermes"] % '{"city":"Paris"}'
    + '\n<tool_call>\n{"name":"now","arguments":{}}\n</tool_call>',
    "llama3_json": CALL["llama3_json"] % '{"city":"Paris"}' + '; {"name":"now","parameters":{}}',
    "mistral": '[TOOL_CALLS][{"name":"get_weather","arguments":{"city":"Paris"}},'
    '{"name":"now","arguments":{}}]',
    "generic": '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}},'
    '{"name":"now","arguments":{}}]}',
}
FORMATS = sorted(CALL)


@pytest.mark.parametrize("name", FORMATS)
def test_a_valid_call_is_accepted_and_parses_back(
    name: str, accepts: Accepts, tools: list[ToolDefinition]
) -> None:
    tool_format = get_format(name)
    grammar = tool_format.grammar(tools, parallel=False)
    text = CALL[name] % '{"city":"São Paulo","unit":"celsius"}'
    assert accepts(grammar, text)
    content, calls = tool_format.parse(text, tools)
    assert content is None
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_weather", '{"city":"São Paulo","unit":"celsius"}')
    ]


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize(
    "arguments",
    [
        '{"city":3}',  # wrong type
        '{"unit":"celsius"}',  # a required property missing
        '{"city":"Paris","unit":"kelvin"}',  # not in the enum
        '{"city":"Paris","wind":true}',  # additionalProperties: false
        '{"city": "Paris"}',  # free whitespace
    ],
)
def test_invalid_arguments_are_refused(
    name: str, arguments: str, accepts: Accepts, tools: list[ToolDefinition]
) -> None:
    grammar = get_format(name).grammar(tools, parallel=False)
    assert not accepts(grammar, CALL[name] % arguments)


@pytest.mark.parametrize("name", FORMATS)
def test_only_the_given_tools_can_be_called(
    name: str, accepts: Accepts, tools: list[ToolDefinition]
) -> None:
    only_time = [tool for tool in tools if tool.function.name == "get_time"]
    grammar = get_format(name).grammar(only_time, parallel=False)
    assert not accepts(grammar, CALL[name] % '{"city":"Paris"}')
    assert accepts(grammar, CALL[name].replace("get_weather", "get_time") % '{"zone":"UTC"}')


@pytest.mark.parametrize("name", FORMATS)
def test_several_calls_only_with_parallel(
    name: str, accepts: Accepts, tools: list[ToolDefinition]
) -> None:
    tool_format = get_format(name)
    assert accepts(tool_format.grammar(tools, parallel=True), TWO_CALLS[name])
    assert not accepts(tool_format.grammar(tools, parallel=False), TWO_CALLS[name])
    assert accepts(tool_format.grammar(tools, parallel=True), CALL[name] % '{"city":"Oslo"}')
    assert [c.name for c in tool_format.parse(TWO_CALLS[name], tools)[1]] == ["get_weather", "now"]


def test_mistral_also_takes_its_name_args_form(
    accepts: Accepts, tools: list[ToolDefinition]
) -> None:
    grammar = get_format("mistral").grammar(tools, parallel=True)
    assert accepts(grammar, '[TOOL_CALLS]get_weather[ARGS]{"city":"Paris"}[TOOL_CALLS]now[ARGS]{}')
    assert not accepts(grammar, '[TOOL_CALLS]get_weather[ARGS]{"town":"Paris"}')


def test_content_before_a_forced_call_is_refused(
    accepts: Accepts, tools: list[ToolDefinition]
) -> None:
    grammar = get_format("hermes").grammar(tools, parallel=False)
    assert not accepts(grammar, "Sure. " + CALL["hermes"] % '{"city":"Paris"}')


def test_a_marker_that_is_one_token_is_written_as_that_token(
    accepts: Accepts, tools: list[ToolDefinition], demo_tokenizer: object
) -> None:
    # the demo tokenizer has no <tool_call> token: let <|im_start|> (id 1) stand in for it
    grammar = get_format("hermes").grammar(tools, parallel=False, marker_tokens={"<tool_call>": 1})
    body = '\n{"name":"now","arguments":{}}\n</tool_call>'
    assert accepts(grammar, body, before=[1])
    assert not accepts(grammar, "<tool_call>" + body)


def test_schemas_keep_their_own_references(accepts: Accepts) -> None:
    tool = ToolDefinition.model_validate(
        {
            "function": {
                "name": "book",
                "parameters": {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "properties": {"room": {"$ref": "#/$defs/Room"}},
                    "required": ["room"],
                    "$defs": {"Room": {"type": "integer", "minimum": 100}},
                },
            }
        }
    )
    grammar = get_format("generic").grammar([tool], parallel=False)
    assert accepts(grammar, '{"tool_calls":[{"name":"book","arguments":{"room":101}}]}')
    assert not accepts(grammar, '{"tool_calls":[{"name":"book","arguments":{"room":7}}]}')


def test_a_tool_without_parameters_takes_an_empty_object(tools: list[ToolDefinition]) -> None:
    now = next(tool for tool in tools if tool.function.name == "now")
    assert arguments_schema(now)["additionalProperties"] is False
    assert arguments_schema(now)["properties"] == {}


def test_a_grammar_needs_a_tool() -> None:
    with pytest.raises(ValueError, match="at least one tool"):
        get_format("hermes").grammar([], parallel=False)
