"""Building signatures: type names, ``ColSpec``/``ParamSpec``, ``Signature`` and how it prints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelport.errors import SchemaEnforcementError
from modelport.signature.coerce import JsonSchema, coerce, describe

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
            node["default"] = coerce(node, spec.default, f"param '{spec.name}' default")
        properties[spec.name] = node
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _as_schema(value: Any, kind: str) -> JsonSchema | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    accepted = "ParamSpec" if kind == "params" else "ColSpec"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise SchemaEnforcementError(
            f"{kind} must be a list of {accepted} or a JSON Schema, got {type(value).__name__}"
        )
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
        if not isinstance(data, Mapping):
            raise SchemaEnforcementError(
                f"a signature is a dict with inputs, outputs and params, got {type(data).__name__}"
            )
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
