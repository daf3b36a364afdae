"""Signatures: what a model takes and gives, as JSON Schema.

A :class:`Signature` holds three JSON Schemas: ``inputs`` (a row: an object whose properties are
the columns, or a single type), ``outputs`` and ``params`` (an object whose properties carry their
``default``). ``ColSpec`` and ``ParamSpec`` build them with MLflow's type names
(``string``, ``double``, ``long``, ``boolean``…); ``infer_signature`` derives them from examples.

Enforcement at predict time: inputs are validated and coerced column by column (a dict of lists,
a list of records, a single-row dict or a pandas DataFrame); params get their defaults filled,
are coerced, and unknown ones are refused with the list of accepted names.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from modelport.errors import SchemaEnforcementError

JsonSchema = dict[str, Any]
TypeSpec = str | Mapping[str, Any] | type  # an MLflow type name, a Python type or a JSON Schema

_TYPE_NAMES: dict[str, JsonSchema] = {
    "string": {"type": "string"},
    "str": {"type": "string"},
    "double": {"type": "number"},
    "float": {"type": "number"},
    "number": {"type": "number"},
    "long": {"type": "integer"},
    "integer": {"type": "integer"},
    "int": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "bool": {"type": "boolean"},
    "binary": {"type": "string", "contentEncoding": "base64"},
    "datetime": {"type": "string", "format": "date-time"},
    "object": {"type": "object"},
    "array": {"type": "array"},
    "any": {},
}
_SHOWN_NAMES = {"number": "double", "integer": "long"}


def type_schema(type_: str | Mapping[str, Any] | type) -> JsonSchema:
    """A JSON Schema for an MLflow-style type name, a Python type, or a JSON Schema dict."""
    if isinstance(type_, Mapping):
        return dict(type_)
    if isinstance(type_, type):
        by_type = {
            str: "string",
            float: "double",
            int: "long",
            bool: "boolean",
            bytes: "binary",
            dict: "object",
            list: "array",
        }
        if type_ in by_type:
            return dict(_TYPE_NAMES[by_type[type_]])
    elif isinstance(type_, str) and type_.lower() in _TYPE_NAMES:
        return dict(_TYPE_NAMES[type_.lower()])
    accepted = ", ".join(sorted(k for k in _TYPE_NAMES if k != "any"))
    raise SchemaEnforcementError(f"Unknown type {type_!r}; accepted types: {accepted}")


@dataclass(frozen=True)
class ColSpec:
    """One input or output column: ``ColSpec("string", "prompt")``."""

    type: str | Mapping[str, Any] | type
    name: str | None = None
    required: bool = True


@dataclass(frozen=True, init=False)
class ParamSpec:
    """One inference parameter with its default: ``ParamSpec("temperature", "double", 0.1)``.

    ``shape=(-1,)`` makes it a list of that type. The type may also be given as ``dtype=``
    (MLflow's keyword).
    """

    name: str
    type: str | Mapping[str, Any] | type
    default: Any = None
    shape: tuple[int, ...] | None = None

    def __init__(
        self,
        name: str,
        type: TypeSpec | None = None,
        default: Any = None,
        shape: tuple[int, ...] | None = None,
        *,
        dtype: TypeSpec | None = None,
    ) -> None:
        if (type is None) == (dtype is None):
            raise SchemaEnforcementError(
                f"ParamSpec {name!r} needs its type, given once: ParamSpec(name, type, default)"
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", type if type is not None else dtype)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "shape", shape)


class Schema(list):  # type: ignore[type-arg,unused-ignore]
    """A list of :class:`ColSpec` (MLflow's ``Schema([...])``)."""


class ParamSchema(list):  # type: ignore[type-arg,unused-ignore]
    """A list of :class:`ParamSpec` (MLflow's ``ParamSchema([...])``)."""


def _columns_schema(specs: Iterable[ColSpec]) -> JsonSchema:
    specs = list(specs)
    if len(specs) == 1 and specs[0].name is None:
        return type_schema(specs[0].type)
    if any(spec.name is None for spec in specs):
        raise SchemaEnforcementError("every ColSpec needs a name when there are several columns")
    properties = {str(spec.name): type_schema(spec.type) for spec in specs}
    required = [str(spec.name) for spec in specs if spec.required]
    return {"type": "object", "properties": properties, "required": required}


def _params_schema(specs: Iterable[ParamSpec]) -> JsonSchema:
    properties: dict[str, JsonSchema] = {}
    for spec in specs:
        item = type_schema(spec.type)
        node = {"type": "array", "items": item} if spec.shape else item
        if spec.default is not None:
            node["default"] = _coerce(node, spec.default, f"param '{spec.name}' default")
        properties[spec.name] = node
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _as_schema(value: Any, kind: str) -> JsonSchema | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    items = list(value)
    if kind == "params":
        if not all(isinstance(i, ParamSpec) for i in items):
            raise SchemaEnforcementError("params must be a list of ParamSpec or a JSON Schema")
        return _params_schema(items)
    if not all(isinstance(i, ColSpec) for i in items):
        raise SchemaEnforcementError(f"{kind} must be a list of ColSpec or a JSON Schema")
    return _columns_schema(items)


class Signature:
    """The JSON Schemas of a model's inputs, outputs and params."""

    def __init__(self, inputs: Any = None, outputs: Any = None, params: Any = None) -> None:
        self.inputs: JsonSchema | None = _as_schema(inputs, "inputs")
        self.outputs: JsonSchema | None = _as_schema(outputs, "outputs")
        self.params: JsonSchema | None = _as_schema(params, "params")

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "outputs": self.outputs, "params": self.params}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        return cls(data.get("inputs"), data.get("outputs"), data.get("params"))

    def param_defaults(self) -> dict[str, Any]:
        props = (self.params or {}).get("properties", {})
        return {name: node["default"] for name, node in props.items() if "default" in node}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signature) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        return (
            f"inputs: \n  {_describe_top(self.inputs)}\n"
            f"outputs: \n  {_describe_top(self.outputs)}\n"
            f"params: \n  {_describe_top(self.params, params=True)}\n"
        )


ModelSignature = Signature  # MLflow's name (mlflow.models.ModelSignature)


# --- readable descriptions --------------------------------------------------------------------


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


def _describe_top(node: JsonSchema | None, params: bool = False) -> str:
    if node is None:
        return "None"
    if node.get("type") != "object" or "properties" not in node:
        return f"[{describe(node)}]"
    required = set(node.get("required", []))
    parts = []
    for name, sub in node["properties"].items():
        if params:
            tail = f"(default: {sub['default']})" if "default" in sub else "(default: None)"
        else:
            tail = "(required)" if name in required else "(optional)"
        parts.append(f"'{name}': {describe(sub)} {tail}")
    return "[" + ", ".join(parts) + "]"


# --- inference --------------------------------------------------------------------------------


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
        return dict(_TYPE_NAMES["binary"])
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
    numpy_kind = getattr(getattr(value, "dtype", None), "kind", None)
    if numpy_kind is not None:
        return _infer_value(value.item() if hasattr(value, "item") else value)
    return {}


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


def _is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns")


def infer_schema(data: Any) -> JsonSchema:
    """The input (or output) schema of an example value."""
    if _is_dataframe(data):
        properties = {
            str(col): _infer_items([v for v in data[col].tolist() if v is not None])
            for col in data.columns
        }
        return {"type": "object", "properties": properties, "required": list(properties)}
    if isinstance(data, Mapping):
        properties = {}
        for key, value in data.items():
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
            "required": [k for k, v in data.items() if v is not None],
        }
    if isinstance(data, (list, tuple)) and data and all(isinstance(v, Mapping) for v in data):
        return _infer_items(list(data))  # records
    if isinstance(data, (list, tuple)):
        return _infer_items(list(data))
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
            node = _infer_value(value)
            if value is not None:
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


# --- enforcement ------------------------------------------------------------------------------


def _coerce(node: JsonSchema, value: Any, where: str) -> Any:
    """Validate ``value`` against ``node``, coercing where no information is lost."""
    if not node:
        return value
    if "anyOf" in node:
        for option in node["anyOf"]:
            try:
                return _coerce(option, value, where)
            except SchemaEnforcementError:
                continue
        raise SchemaEnforcementError(f"{where} expects {describe(node)}, got {value!r:.60}")
    if "enum" in node and value not in node["enum"]:
        raise SchemaEnforcementError(f"{where} must be one of {node['enum']}, got {value!r:.60}")
    kind = node.get("type")
    if isinstance(kind, list):
        return _coerce({"anyOf": [{**node, "type": k} for k in kind]}, value, where)
    expected = describe(node)
    if hasattr(value, "item") and not isinstance(value, (list, dict, str, bytes)):
        value = value.item()  # numpy scalars
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
            return [_coerce(items, v, f"{where}[{i}]") for i, v in enumerate(value)]
    elif kind == "object":
        if isinstance(value, Mapping):
            props = node.get("properties", {})
            for name in node.get("required", []):
                if name not in value:
                    raise SchemaEnforcementError(f"{where} is missing required field '{name}'")
            return {
                k: (_coerce(props[k], v, f"{where}.{k}") if k in props and v is not None else v)
                for k, v in value.items()
            }
    elif kind is None:
        return value
    got = type(value).__name__
    raise SchemaEnforcementError(f"{where} expects {expected}, got {got} {value!r:.60}")


@contextmanager
def _naming(column: str) -> Iterator[None]:
    """Re-raise a coercion error with ``param`` set to the offending column."""
    try:
        yield
    except SchemaEnforcementError as exc:
        raise SchemaEnforcementError(exc.message, param=column) from None


def _is_column(node: JsonSchema, value: Any) -> bool:
    """Whether ``value`` holds many rows of a column whose row type is ``node``."""
    if not isinstance(value, (list, tuple)) and not hasattr(value, "tolist"):
        return False
    if isinstance(value, (str, bytes)):
        return False
    if node.get("type") == "array":
        values = value.tolist() if hasattr(value, "tolist") else list(value)
        return bool(values) and all(isinstance(v, (list, tuple)) for v in values)
    return True


def enforce_input(schema: JsonSchema | None, data: Any) -> Any:
    """Validate and coerce ``data`` against an input schema.

    For column schemas the model receives a dict of lists (or a DataFrame when it was sent one),
    so ``model_input["prompt"][0]`` works whatever the caller sent.
    """
    if schema is None:
        return data
    if schema.get("type") != "object" or "properties" not in schema:
        if isinstance(data, (list, tuple)) and schema.get("type") != "array":
            return [_coerce(schema, v, f"input[{i}]") for i, v in enumerate(data)]
        return _coerce(schema, data, "input")

    properties: dict[str, JsonSchema] = schema["properties"]
    required = list(schema.get("required", []))
    accepted = ", ".join(properties) or "(none)"

    if _is_dataframe(data):
        missing = [c for c in required if c not in data.columns]
        if missing:
            raise SchemaEnforcementError(
                f"Missing column {missing[0]!r}; the model expects columns: {accepted}",
                param=missing[0],
            )
        frame = data.copy()
        for name, node in properties.items():
            if name in frame.columns:
                with _naming(name):
                    values = [
                        _coerce(node, v, f"column '{name}' row {i}")
                        for i, v in enumerate(frame[name].tolist())
                    ]
                frame[name] = values
        return frame

    if isinstance(data, (list, tuple)) and data and all(isinstance(r, Mapping) for r in data):
        keys = list(dict.fromkeys(k for row in data for k in row))
        data = {k: [row.get(k) for row in data] for k in keys}
    if not isinstance(data, Mapping):
        raise SchemaEnforcementError(
            f"The model expects an object with columns {accepted}; got {type(data).__name__}"
        )
    missing = [c for c in required if data.get(c) is None]
    if missing:
        raise SchemaEnforcementError(
            f"Missing column {missing[0]!r}; the model expects columns: {accepted}",
            param=missing[0],
        )
    columns: dict[str, list[Any]] = {}
    for name, value in data.items():
        node = properties.get(name, {})
        rows = (
            list(value.tolist() if hasattr(value, "tolist") else value)
            if _is_column(node, value)
            else [value]
        )
        with _naming(name):
            columns[name] = [
                _coerce(node, v, f"column '{name}'" + (f" row {i}" if len(rows) > 1 else ""))
                if v is not None
                else v
                for i, v in enumerate(rows)
            ]
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        shown = ", ".join(f"{k}: {len(v)}" for k, v in columns.items())
        raise SchemaEnforcementError(f"All columns must have the same length; got {shown}")
    return columns


def enforce_params(schema: JsonSchema | None, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fill defaults, coerce values, and refuse params the signature does not name."""
    given = dict(params or {})
    if schema is None:
        if given:
            names = ", ".join(sorted(given))
            raise SchemaEnforcementError(
                f"This model accepts no params, got: {names}", param=sorted(given)[0]
            )
        return {}
    properties: dict[str, JsonSchema] = schema.get("properties", {})
    unknown = sorted(set(given) - set(properties))
    if unknown:
        accepted = ", ".join(properties) or "(none)"
        raise SchemaEnforcementError(
            f"Unknown param {unknown[0]!r}; accepted params: {accepted}", param=unknown[0]
        )
    out: dict[str, Any] = {}
    for name, node in properties.items():
        if name in given and given[name] is not None:
            try:
                value = _coerce(node, given[name], f"param '{name}'")
            except SchemaEnforcementError as exc:
                raise SchemaEnforcementError(exc.message, param=name) from None
            if isinstance(value, float) and not math.isfinite(value):
                raise SchemaEnforcementError(f"param '{name}' must be finite", param=name)
            out[name] = value
        else:
            out[name] = node.get("default")
    return out


# --- the fixed signatures of the LLM tasks ----------------------------------------------------

_MESSAGE = {
    "type": "object",
    "properties": {
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
        "name": {"type": "string"},
        "tool_calls": {"type": "array", "items": {"type": "object"}},
        "tool_call_id": {"type": "string"},
    },
    "required": ["role"],
}
_SAMPLING = {
    "temperature": {"type": "number"},
    "top_p": {"type": "number"},
    "top_k": {"type": "integer"},
    "max_tokens": {"type": "integer"},
    "max_completion_tokens": {"type": "integer"},
    "stop": {"type": "array", "items": {"type": "string"}},
    "n": {"type": "integer"},
    "seed": {"type": "integer"},
    "presence_penalty": {"type": "number"},
    "frequency_penalty": {"type": "number"},
    "stream": {"type": "boolean"},
    "custom_inputs": {"type": "object"},
}
_USAGE = {
    "type": "object",
    "properties": {
        "prompt_tokens": {"type": "integer"},
        "completion_tokens": {"type": "integer"},
        "total_tokens": {"type": "integer"},
    },
    "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
}


def chat_signature() -> Signature:
    """The signature every ``llm/v1/chat`` model gets: OpenAI chat request in, completion out."""
    inputs = {
        "type": "object",
        "properties": {
            "messages": {"type": "array", "items": _MESSAGE},
            "tools": {"type": "array", "items": {"type": "object"}},
            **_SAMPLING,
        },
        "required": ["messages"],
    }
    choice = {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            "message": _MESSAGE,
            "finish_reason": {"type": "string"},
        },
        "required": ["index", "message", "finish_reason"],
    }
    outputs = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string"},
            "created": {"type": "integer"},
            "model": {"type": "string"},
            "choices": {"type": "array", "items": choice},
            "usage": _USAGE,
            "custom_outputs": {"type": "object"},
        },
        "required": ["id", "object", "created", "model", "choices"],
    }
    return Signature(inputs=inputs, outputs=outputs)


def completions_signature() -> Signature:
    """The signature every ``llm/v1/completions`` model gets."""
    prompt = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    inputs = {
        "type": "object",
        "properties": {"prompt": prompt, **_SAMPLING},
        "required": ["prompt"],
    }
    choice = {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            "text": {"type": "string"},
            "finish_reason": {"type": "string"},
        },
        "required": ["index", "text", "finish_reason"],
    }
    outputs = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string"},
            "created": {"type": "integer"},
            "model": {"type": "string"},
            "choices": {"type": "array", "items": choice},
            "usage": _USAGE,
        },
        "required": ["id", "object", "created", "model", "choices"],
    }
    return Signature(inputs=inputs, outputs=outputs)
