"""check_tools: what a request's tools and tool_choice must be, each refusal naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.errors import InvalidRequestError
from modelport.structured.tools import check_tools, forced_tools
from modelport.types import ToolDefinition


def tool(name: str = "get_weather", **function: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, **function}}


def test_valid_tools_and_every_tool_choice_pass(tools: list[ToolDefinition]) -> None:
    for choice in (
        None,
        "none",
        "auto",
        "required",
        {"type": "function", "function": {"name": "now"}},
    ):
        check_tools(tools, choice, True)
    check_tools([tool(parameters={"type": "object"}), tool("b", parameters={})], "auto")
    check_tools(None, "auto")


@pytest.mark.parametrize(
    ("tools", "tool_choice", "param", "says"),
    [
        ([tool(), {"type": "retrieval"}], None, "tools[1].type", "only tools of type 'function'"),
        ([{"type": "function"}], None, "tools[0].function", "needs 'function'"),
        ([tool("get weather")], None, "tools[0].function.name", "letters, digits"),
        ([tool("x" * 65)], None, "tools[0].function.name", "1 to 64"),
        ([tool(), tool()], None, "tools[1].function.name", "two tools are named 'get_weather'"),
        (
            [tool(parameters={"type": "object", "properties": {"city": {"type": "text"}}})],
            None,
            "tools[0].function.parameters",
            "not a valid JSON Schema at properties/city/type",
        ),
        (
            [tool(parameters={"type": "object", "required": "city"})],
            None,
            "tools[0].function.parameters",
            "not a valid JSON Schema",
        ),
        ([tool(parameters=[1])], None, "tools[0].function.parameters", "is an object"),
        (
            [tool(parameters={"type": "string"})],
            None,
            "tools[0].function.parameters",
            "type 'object'",
        ),
        (
            [tool()],
            {"type": "function", "function": {"name": "send_email"}},
            "tool_choice",
            "'send_email', which is not in 'tools' (tools: get_weather)",
        ),
        ([tool()], {"type": "function"}, "tool_choice", "must be 'none', 'auto', 'required'"),
        (
            [tool()],
            {"type": "custom", "function": {"name": "get_weather"}},
            "tool_choice",
            "must be",
        ),
        ([tool()], "any", "tool_choice", "must be"),
        ([], "required", "tool_choice", "needs 'tools'"),
        (
            None,
            {"type": "function", "function": {"name": "x"}},
            "tool_choice",
            "not in 'tools' (tools: none)",
        ),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(
    tools: Any, tool_choice: Any, param: str, says: str
) -> None:
    with pytest.raises(InvalidRequestError, match=None) as caught:
        check_tools(tools, tool_choice)
    assert caught.value.param == param
    assert says in caught.value.message
    assert caught.value.status_code == 400


def test_parallel_tool_calls_must_be_a_boolean() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_tools([tool()], "auto", "yes")  # type: ignore[arg-type]
    assert caught.value.param == "parallel_tool_calls"


def test_typed_tools_are_checked_like_dicts() -> None:
    typed = ToolDefinition.model_validate(
        tool(parameters={"type": "object", "properties": {"a": {"type": 1}}})
    )
    with pytest.raises(InvalidRequestError) as caught:
        check_tools([typed], None)
    assert caught.value.param == "tools[0].function.parameters"


def test_what_tool_choice_forces(tools: list[ToolDefinition]) -> None:
    assert forced_tools(tools, "auto") is None and forced_tools(tools, None) is None
    assert forced_tools(tools, "none") is None
    assert forced_tools(tools, "required") == tools
    named = {"type": "function", "function": {"name": "now"}}
    assert [t.function.name for t in forced_tools(tools, named) or []] == ["now"]
