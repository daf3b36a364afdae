"""Inferring signatures from examples (dicts, records, DataFrames, params) and type hints."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

from modelport.errors import SchemaEnforcementError
from modelport.signature.coerce import JsonSchema, is_dataframe
from modelport.signature.schema import Signature, type_schema


def _infer_value(value: Any) -> JsonSchema:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, bytes):
        return type_schema("binary")
    if isinstance(value, Mapping):
        return {
            "type": "object",
            "properties": {str(k): _infer_value(v) for k, v in value.items()},
            "required": [str(k) for k, v in value.items() if v is not None],
        }
    if isinstance(value, (list, tuple)):
        return {"type": "array", "items": _infer_items(list(value))}
    if value is None:
        return {}
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalars and arrays
        return _infer_value(value.tolist())
    return {}


def _plain(value: Any) -> Any:
    """numpy arrays and pandas Series as lists (so that they read as columns)."""
    if hasattr(value, "tolist") and getattr(value, "shape", ()) != ():
        return value.tolist()
    return value


def _infer_items(values: list[Any]) -> JsonSchema:
    schemas = [_infer_value(v) for v in values if v is not None]
    if not schemas:
        return {}
    if all(s.get("type") == "object" for s in schemas):
        properties: dict[str, JsonSchema] = {}
        for s in schemas:
            properties.update(s.get("properties", {}))
        required = set.intersection(*(set(s.get("required", [])) for s in schemas))
        return {
            "type": "object",
            "properties": properties,
            "required": [k for k in properties if k in required],
        }
    kinds = {s.get("type") for s in schemas}
    if kinds == {"integer", "number"}:
        return {"type": "number"}
    return schemas[0] if len(kinds) == 1 else {}


def infer_schema(data: Any) -> JsonSchema:
    """The input (or output) schema of an example value."""
    if is_dataframe(data):
        properties = {
            str(col): _infer_items([v for v in data[col].tolist() if v is not None])
            for col in data.columns
        }
        return {"type": "object", "properties": properties, "required": list(properties)}
    data = _plain(data)
    if isinstance(data, Mapping):
        properties = {}
        for key, value in data.items():
            value = _plain(value)
            if (
                isinstance(value, (list, tuple))
                and value
                and not any(isinstance(v, (Mapping, list, tuple)) for v in value)
            ):
                properties[str(key)] = _infer_items(list(value))  # a column of scalars
            else:
                properties[str(key)] = _infer_value(value)
        return {
            "type": "object",
            "properties": properties,
            "required": [str(k) for k, v in data.items() if v is not None],
        }
    if isinstance(data, (list, tuple)):
        return _infer_items(list(data))  # records, or rows of values
    return _infer_value(data)


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: Mapping[str, Any] | None = None
) -> Signature:
    """Derive a signature from an input example, an output example and example params.

    Each param's example value becomes its default.
    """
    param_specs = None
    if params:
        if not isinstance(params, Mapping):
            raise SchemaEnforcementError(f"params must be a dict, got {type(params).__name__}")
        props = {}
        for name, value in params.items():
            value = _plain(value)
            if hasattr(value, "item") and getattr(value, "shape", None) == ():
                value = value.item()  # a numpy scalar
            node = _infer_value(value)
            if value is not None:
                try:
                    json.dumps(value)
                except (TypeError, ValueError):
                    raise SchemaEnforcementError(
                        f"param {name!r}: its example value becomes the default and must be "
                        f"plain JSON (a string, number, boolean, list or dict), got "
                        f"{type(value).__name__}",
                        param=str(name),
                    ) from None
                node["default"] = value
            props[str(name)] = node
        param_specs = {"type": "object", "properties": props, "additionalProperties": False}
    return Signature(
        inputs=infer_schema(model_input) if model_input is not None else None,
        outputs=infer_schema(model_output) if model_output is not None else None,
        params=param_specs,
    )


def schema_from_type_hint(hint: Any) -> JsonSchema:
    """The JSON Schema of a Python type hint (``list[str]``, ``dict[str, float]``, a TypedDict…).

    ``Any`` and hints it cannot read give ``{}`` (anything).
    """
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return schema_from_type_hint(options[0])
        return {"anyOf": [schema_from_type_hint(a) for a in options]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, set, frozenset, Sequence, Iterable):
        items = schema_from_type_hint(args[0]) if args and args[0] is not Ellipsis else {}
        return {"type": "array", "items": items}
    if origin in (dict, Mapping):
        value = schema_from_type_hint(args[1]) if len(args) == 2 else {}
        return {"type": "object", **({"additionalProperties": value} if value else {})}
    if typing.is_typeddict(hint):
        fields = typing.get_type_hints(hint)
        return {
            "type": "object",
            "properties": {name: schema_from_type_hint(h) for name, h in fields.items()},
            "required": [name for name in fields if name in hint.__required_keys__],
        }
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = typing.get_type_hints(hint)
        return {
            "type": "object",
            "properties": {name: schema_from_type_hint(h) for name, h in fields.items()},
        }
    if isinstance(hint, type) and hint is not object:
        try:
            return type_schema(hint)
        except SchemaEnforcementError:
            return {"type": "object"} if hasattr(hint, "model_json_schema") else {}
    return {}
