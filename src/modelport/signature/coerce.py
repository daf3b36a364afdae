"""Checking one value against a JSON Schema node, coercing where nothing is lost; readable types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelport.errors import SchemaEnforcementError

JsonSchema = dict[str, Any]
_SHOWN_NAMES = {"number": "double", "integer": "long"}


def describe(node: JsonSchema) -> str:
    """A short readable type: ``string``, ``Array(string)``, ``{role: string (required)}``."""
    if "anyOf" in node:
        return " | ".join(describe(n) for n in node["anyOf"])
    if "enum" in node:
        return "string"
    kind = node.get("type")
    if isinstance(kind, list):
        return " | ".join(describe({**node, "type": k}) for k in kind)
    if kind == "array":
        return f"Array({describe(node.get('items', {}))})"
    if kind == "object" and "properties" in node:
        required = set(node.get("required", []))
        fields = ", ".join(
            f"{name}: {describe(sub)} ({'required' if name in required else 'optional'})"
            for name, sub in node["properties"].items()
        )
        return "{" + fields + "}"
    if kind is None:
        return "any"
    if node.get("contentEncoding") == "base64":
        return "binary"
    if node.get("format") == "date-time":
        return "datetime"
    return str(_SHOWN_NAMES.get(kind, kind))


def coerce(node: JsonSchema, value: Any, where: str) -> Any:
    """Validate ``value`` against ``node``, coercing where no information is lost."""
    if not node:
        return value
    if "anyOf" in node:
        for option in node["anyOf"]:
            try:
                return coerce(option, value, where)
            except SchemaEnforcementError:
                continue
        raise SchemaEnforcementError(f"{where} expects {describe(node)}, got {value!r:.60}")
    if "enum" in node and value not in node["enum"]:
        raise SchemaEnforcementError(f"{where} must be one of {node['enum']}, got {value!r:.60}")
    kind = node.get("type")
    if isinstance(kind, list):
        return coerce({"anyOf": [{**node, "type": k} for k in kind]}, value, where)
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # numpy scalars (arrays have a non-empty shape)
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bytes) and node.get("contentEncoding") == "base64":
            return value
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind == "array":
        if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
            value = value.tolist()
        if isinstance(value, (list, tuple)):
            items = node.get("items", {})
            return [coerce(items, v, f"{where}[{i}]") for i, v in enumerate(value)]
    elif kind == "object":
        if isinstance(value, Mapping):
            props = node.get("properties", {})
            for name in node.get("required", []):
                if name not in value:
                    raise SchemaEnforcementError(f"{where} is missing required field '{name}'")
            return {
                k: (coerce(props[k], v, f"{where}.{k}") if k in props and v is not None else v)
                for k, v in value.items()
            }
    elif kind is None:
        return value
    got = type(value).__name__
    raise SchemaEnforcementError(f"{where} expects {describe(node)}, got {got} {value!r:.60}")


def records_to_columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """``[{"a": 1}, {"b": 2}]`` as ``{"a": [1, None], "b": [None, 2]}`` (keys in first-seen order)."""
    keys = dict.fromkeys(k for row in rows for k in row)
    return {k: [row.get(k) for row in rows] for k in keys}


def is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns")
