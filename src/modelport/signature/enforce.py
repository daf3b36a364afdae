"""Enforcing a signature at predict time: inputs normalised and coerced, params filled and checked."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from modelport.errors import SchemaEnforcementError
from modelport.signature.coerce import JsonSchema, coerce, is_dataframe, records_to_columns


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


def _check_required(missing: list[str], accepted: str) -> None:
    if missing:
        raise SchemaEnforcementError(
            f"Missing column {missing[0]!r}; the model expects columns: {accepted}",
            param=missing[0],
        )


def enforce_input(schema: JsonSchema | None, data: Any) -> Any:
    """Validate and coerce ``data`` against an input schema.

    For column schemas the model receives a dict of lists (or a DataFrame when it was sent one),
    so ``model_input["prompt"][0]`` works whatever the caller sent.
    """
    if schema is None:
        return data
    if schema.get("type") != "object" or "properties" not in schema:
        if isinstance(data, (list, tuple)) and schema.get("type") != "array":
            return [coerce(schema, v, f"input[{i}]") for i, v in enumerate(data)]
        return coerce(schema, data, "input")

    properties: dict[str, JsonSchema] = schema["properties"]
    required = list(schema.get("required", []))
    accepted = ", ".join(properties) or "(none)"

    if is_dataframe(data):
        _check_required([c for c in required if c not in data.columns], accepted)
        frame = data.copy()
        for name, node in properties.items():
            if name in frame.columns:
                with _naming(name):
                    values = [
                        coerce(node, v, f"column '{name}' row {i}")
                        for i, v in enumerate(frame[name].tolist())
                    ]
                frame[name] = values
        return frame

    if isinstance(data, (list, tuple)) and data and all(isinstance(r, Mapping) for r in data):
        data = records_to_columns(data)
    if not isinstance(data, Mapping):
        raise SchemaEnforcementError(
            f"The model expects an object with columns {accepted}; got {type(data).__name__}"
        )
    _check_required([c for c in required if data.get(c) is None], accepted)
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
                coerce(node, v, f"column '{name}'" + (f" row {i}" if len(rows) > 1 else ""))
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
            with _naming(name):
                value = coerce(node, given[name], f"param '{name}'")
            if isinstance(value, float) and not math.isfinite(value):
                raise SchemaEnforcementError(f"param '{name}' must be finite", param=name)
            out[name] = value
        else:
            out[name] = node.get("default")
    return out
