"""Inferring signatures from examples and from type hints."""

from __future__ import annotations

from typing import Any, Literal, Optional, TypedDict

import pandas as pd
import pytest

from modelport import infer_signature
from modelport.errors import SchemaEnforcementError
from modelport.signature import (
    schema_from_type_hint,
)

# --- inference --------------------------------------------------------------------------------


def test_infer_from_a_dict_of_scalars() -> None:
    signature = infer_signature({"prompt": "hi", "k": 3, "p": 0.5, "flag": True})

    assert signature.inputs == {
        "type": "object",
        "properties": {
            "prompt": {"type": "string"},
            "k": {"type": "integer"},
            "p": {"type": "number"},
            "flag": {"type": "boolean"},
        },
        "required": ["prompt", "k", "p", "flag"],
    }


def test_infer_from_a_dict_of_lists_reads_columns() -> None:
    signature = infer_signature({"prompt": ["a", "b"], "score": [1, 2.5]})

    assert signature.inputs is not None
    assert signature.inputs["properties"] == {
        "prompt": {"type": "string"},
        "score": {"type": "number"},
    }


def test_infer_from_records_merges_rows() -> None:
    signature = infer_signature([{"q": "a", "n": 1}, {"q": "b"}])

    assert signature.inputs == {
        "type": "object",
        "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["q"],
    }


def test_infer_from_a_dataframe() -> None:
    frame = pd.DataFrame({"prompt": ["a", "b"], "temperature": [0.1, 0.2], "n": [1, 2]})

    signature = infer_signature(frame, ["x", "y"])

    assert signature.inputs is not None
    assert signature.inputs["properties"] == {
        "prompt": {"type": "string"},
        "temperature": {"type": "number"},
        "n": {"type": "integer"},
    }
    # a list is rows of its items, as MLflow reads it
    assert signature.outputs == {"type": "string"}


def test_infer_from_a_request_and_params_pair() -> None:
    request = {"messages": [{"role": "user", "content": "hi"}]}

    signature = infer_signature(request, params={"max_tokens": 10, "temperature": 0.5})

    assert signature.param_defaults() == {"max_tokens": 10, "temperature": 0.5}
    assert repr(signature).endswith(
        "params: \n  ['max_tokens': long (default: 10), 'temperature': double (default: 0.5)]\n"
    )


def test_infer_output_from_a_string_and_a_dict() -> None:
    assert infer_signature("x", "out").outputs == {"type": "string"}
    assert infer_signature("x", {"candidates": ["a"]}).outputs == {
        "type": "object",
        "properties": {"candidates": {"type": "string"}},
        "required": ["candidates"],
    }


def test_infer_refuses_params_that_are_not_a_dict() -> None:
    with pytest.raises(SchemaEnforcementError, match="params must be a dict"):
        infer_signature({"a": 1}, params=[("max_tokens", 1)])  # type: ignore[arg-type]


# --- type hints -------------------------------------------------------------------------------


class Message(TypedDict, total=False):
    role: str
    content: str


@pytest.mark.parametrize(
    ("hint", "schema"),
    [
        (str, {"type": "string"}),
        (bool, {"type": "boolean"}),
        (list[str], {"type": "array", "items": {"type": "string"}}),
        (
            list[int | float],
            {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "number"}]}},
        ),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (Optional[int], {"type": "integer"}),  # noqa: UP045 - the spelling users write
        (Literal["a", "b"], {"enum": ["a", "b"]}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            list[Message],
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"role": {"type": "string"}, "content": {"type": "string"}},
                    "required": [],
                },
            },
        ),
        (Any, {}),
    ],
)
def test_schema_from_type_hint(hint: Any, schema: dict[str, Any]) -> None:
    assert schema_from_type_hint(hint) == schema


def test_infer_from_numpy_values() -> None:
    import numpy as np

    assert infer_signature({"x": np.array([1.0, 2.0]), "n": np.int64(3)}).inputs == {
        "type": "object",
        "properties": {"x": {"type": "number"}, "n": {"type": "integer"}},
        "required": ["x", "n"],
    }
    assert infer_signature(np.array([[1, 2], [3, 4]])).inputs == {
        "type": "array",
        "items": {"type": "integer"},
    }
    assert infer_signature(pd.Series(["a", "b"])).inputs == {"type": "string"}


def test_numpy_param_examples_become_plain_defaults() -> None:
    import numpy as np

    signature = infer_signature({"q": "x"}, params={"k": np.int64(3), "w": np.array([0.5])})

    assert signature.param_defaults() == {"k": 3, "w": [0.5]}
    assert type(signature.param_defaults()["k"]) is int


def test_a_param_example_that_is_not_plain_json_is_refused() -> None:
    with pytest.raises(SchemaEnforcementError, match="param 'a': its example value") as caught:
        infer_signature({"q": "x"}, params={"a": object()})

    assert caught.value.param == "a"


def test_non_string_keys_are_named_as_strings() -> None:
    assert infer_signature({1: 2}).inputs == {
        "type": "object",
        "properties": {"1": {"type": "integer"}},
        "required": ["1"],
    }
