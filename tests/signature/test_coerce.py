"""One value against one JSON Schema node: what is coerced, what is refused, how types read."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelport.errors import SchemaEnforcementError
from modelport.signature.coerce import coerce, describe, is_dataframe


@pytest.mark.parametrize(
    ("node", "value", "expected"),
    [
        ({"type": "number"}, 3, 3.0),
        ({"type": "integer"}, 4.0, 4),
        ({"type": "integer"}, np.int64(5), 5),
        ({"type": "number"}, np.float32(0.5), 0.5),
        ({"type": "array", "items": {"type": "number"}}, (1, 2), [1.0, 2.0]),
        ({"type": "array", "items": {"type": "integer"}}, np.array([1, 2]), [1, 2]),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "x", "x"),
        ({"type": ["string", "null"]}, "y", "y"),
        ({"type": "object", "properties": {"k": {"type": "number"}}}, {"k": 1}, {"k": 1.0}),
        ({}, object, object),
    ],
)
def test_values_coerced_without_loss(node: dict[str, Any], value: Any, expected: Any) -> None:
    result = coerce(node, value, "x")

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("node", "value", "words"),
    [
        ({"type": "integer"}, True, "x expects long, got bool True"),
        ({"type": "number"}, "1.5", "x expects double, got str '1.5'"),
        ({"type": "string"}, 7, "x expects string, got int 7"),
        ({"type": "boolean"}, 1, "x expects boolean, got int 1"),
        ({"type": "array", "items": {"type": "string"}}, ["a", 1], r"x\[1\] expects string"),
        ({"type": "object", "required": ["k"]}, {}, "x is missing required field 'k'"),
        ({"enum": ["a", "b"]}, "c", r"x must be one of \['a', 'b'\], got 'c'"),
        ({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "s", "x expects long | boolean"),
    ],
)
def test_values_refused_with_what_was_expected(
    node: dict[str, Any], value: Any, words: str
) -> None:
    with pytest.raises(SchemaEnforcementError, match=words):
        coerce(node, value, "x")


@pytest.mark.parametrize(
    ("node", "text"),
    [
        ({"type": "string"}, "string"),
        ({"type": "number"}, "double"),
        ({"type": "integer"}, "long"),
        ({"type": "array", "items": {"type": "string"}}, "Array(string)"),
        ({"type": "string", "contentEncoding": "base64"}, "binary"),
        ({"type": "string", "format": "date-time"}, "datetime"),
        ({}, "any"),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            "{a: string (required)}",
        ),
    ],
)
def test_describe_reads_like_mlflow(node: dict[str, Any], text: str) -> None:
    assert describe(node) == text


def test_is_dataframe_without_importing_pandas() -> None:
    import pandas as pd

    assert is_dataframe(pd.DataFrame({"a": [1]}))
    assert not is_dataframe({"a": [1]})
