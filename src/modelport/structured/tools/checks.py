"""The request's ``tools`` and ``tool_choice`` checked before generation (400s naming the
field), and what ``tool_choice`` forces.

``tool_choice`` is ``"none"``, ``"auto"`` (the default when tools are given), ``"required"``
or a named function, ``{"type": "function", "function": {"name": "get_weather"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from modelport.errors import InvalidRequestError
from modelport.types import ToolDefinition

ToolChoice = str | Mapping[str, Any] | None
# OpenAI's rule for function names
NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def forced_name(tool_choice: ToolChoice) -> str | None:
    """The function a named ``tool_choice`` forces (None for the string forms)."""
    if not isinstance(tool_choice, Mapping):
        return None
    function = tool_choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else None
    return name if isinstance(name, str) else None


def forced_tools(
    tools: Sequence[ToolDefinition] | None, tool_choice: ToolChoice
) -> list[ToolDefinition] | None:
    """The tools that generation must call one of (all for ``"required"``, one for a named
    function), or None when the model may answer without a call (``"auto"``, ``"none"``)."""
    named = forced_name(tool_choice)
    if named is not None:
        return [tool for tool in tools or () if tool.function.name == named]
    if tool_choice == "required":
        return list(tools or ())
    return None


def _field(tool: ToolDefinition | Mapping[str, Any], key: str) -> Any:
    if isinstance(tool, Mapping):
        return tool.get(key)
    return getattr(tool, key, None)


def check_json_schema(schema: Any, param: str) -> None:
    """A 400 naming ``param`` when ``schema`` is not a valid JSON Schema."""
    import jsonschema

    if not isinstance(schema, Mapping):
        raise InvalidRequestError(
            f"a JSON Schema is an object, got {type(schema).__name__}", param=param
        )
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.path)
        raise InvalidRequestError(
            f"not a valid JSON Schema{f' at {where}' if where else ''}: {exc.message}",
            param=param,
        ) from None


def _check_tool(tool: ToolDefinition | Mapping[str, Any], at: str) -> str:
    """One tool checked; its name."""
    kind = _field(tool, "type") or "function"
    if kind != "function":
        raise InvalidRequestError(
            f"{at}.type is {kind!r}; only tools of type 'function' are supported",
            param=f"{at}.type",
        )
    function = _field(tool, "function")
    if function is None:
        raise InvalidRequestError(f"{at} needs 'function'", param=f"{at}.function")
    name = _field(function, "name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidRequestError(
            f"{at}.function.name must be 1 to 64 letters, digits, '_' or '-', got {name!r}",
            param=f"{at}.function.name",
        )
    parameters = _field(function, "parameters")
    if parameters is not None:
        param = f"{at}.function.parameters"
        check_json_schema(parameters, param)
        kind = parameters.get("type", "object")
        if kind != "object":
            raise InvalidRequestError(
                f"the parameters of {name!r} must be a JSON Schema of type 'object', "
                f"got type {kind!r}",
                param=param,
            )
        guidance = parameters.get("x-guidance")
        if guidance is not None and not isinstance(guidance, Mapping):
            raise InvalidRequestError(
                f"'x-guidance' in the parameters of {name!r} must be an object of grammar "
                f"options, got {type(guidance).__name__}",
                param=param,
            )
    return name


def check_tools(
    tools: Sequence[ToolDefinition | Mapping[str, Any]] | None,
    tool_choice: ToolChoice,
    parallel_tool_calls: bool | None = None,
) -> None:
    """Refuse (400, naming the field) what cannot be served: a tool of a type other than
    ``function`` (``tools[i].type``), a bad or repeated name (``tools[i].function.name``),
    ``parameters`` that is not a JSON Schema of an object (``tools[i].function.parameters``),
    and a ``tool_choice`` that is malformed, names a tool not in ``tools``, or forces a call
    without tools (``tool_choice``). ``parallel_tool_calls`` needs no check beyond its type."""
    seen: dict[str, int] = {}
    for i, tool in enumerate(tools or ()):
        name = _check_tool(tool, f"tools[{i}]")
        if name in seen:
            raise InvalidRequestError(
                f"two tools are named {name!r} (tools[{seen[name]}] and tools[{i}])",
                param=f"tools[{i}].function.name",
            )
        seen[name] = i
    if parallel_tool_calls is not None and not isinstance(parallel_tool_calls, bool):
        raise InvalidRequestError(
            "parallel_tool_calls must be true or false", param="parallel_tool_calls"
        )
    if tool_choice is None or tool_choice in ("none", "auto"):
        return
    if tool_choice == "required":
        if not seen:
            raise InvalidRequestError("tool_choice 'required' needs 'tools'", param="tool_choice")
        return
    named = forced_name(tool_choice)
    if (
        not isinstance(tool_choice, Mapping)
        or tool_choice.get("type", "function") != "function"
        or named is None
    ):
        raise InvalidRequestError(
            "tool_choice must be 'none', 'auto', 'required' or "
            '{"type": "function", "function": {"name": "<tool name>"}}',
            param="tool_choice",
        )
    if named not in seen:
        known = ", ".join(seen) or "none"
        raise InvalidRequestError(
            f"tool_choice names the function {named!r}, which is not in 'tools' (tools: {known})",
            param="tool_choice",
        )
