"""Enforcing a signature at predict time: inputs normalised and coerced, params checked."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from modelport import ColSpec, Schema, Signature
from modelport.errors import SchemaEnforcementError
from modelport.signature import (
    enforce_input,
    enforce_params,
    schema_from_type_hint,
)

# --- enforcement: inputs ----------------------------------------------------------------------


def test_single_row_dict_and_records_and_columns_all_become_columns(
    prompt_signature: Signature,
) -> None:
    schema = prompt_signature.inputs

    for given in ({"prompt": "a"}, [{"prompt": "a"}], {"prompt": ["a"]}):
        assert enforce_input(schema, given) == {"prompt": ["a"]}


def test_dataframe_input_stays_a_dataframe_and_is_coerced() -> None:
    schema = Signature(inputs=Schema([ColSpec("string", "q"), ColSpec("double", "w")])).inputs
    frame = pd.DataFrame({"q": ["a", "b"], "w": [1, 2]})

    out = enforce_input(schema, frame)

    assert isinstance(out, pd.DataFrame)
    assert out["q"][0] == "a"
    assert out["w"].tolist() == [1.0, 2.0] and isinstance(out["w"][0], float)


def test_int_is_coerced_to_double_and_whole_float_to_long() -> None:
    schema = Signature(inputs=Schema([ColSpec("double", "w"), ColSpec("long", "n")])).inputs

    out = enforce_input(schema, {"w": [1, 2], "n": [3.0, 4.0]})

    assert out == {"w": [1.0, 2.0], "n": [3, 4]}
    assert isinstance(out["w"][0], float) and isinstance(out["n"][0], int)


@pytest.mark.parametrize(
    ("data", "column", "words"),
    [
        ({"prompt": [1]}, "prompt", "column 'prompt' expects string, got int"),
        ({"prompt": ["a", 2]}, "prompt", "column 'prompt' row 1 expects string"),
        (pd.DataFrame({"prompt": [True]}), "prompt", "column 'prompt' row 0 expects string"),
        ({"other": "x"}, "prompt", "Missing column 'prompt'; the model expects columns: prompt"),
        (pd.DataFrame({"other": ["x"]}), "prompt", "Missing column 'prompt'"),
    ],
)
def test_type_errors_name_the_column(
    prompt_signature: Signature, data: Any, column: str, words: str
) -> None:
    with pytest.raises(SchemaEnforcementError) as caught:
        enforce_input(prompt_signature.inputs, data)

    assert caught.value.param == column
    assert words in caught.value.message


def test_a_fractional_float_is_not_truncated_to_long() -> None:
    schema = Signature(inputs=Schema([ColSpec("long", "n")])).inputs

    with pytest.raises(SchemaEnforcementError, match=r"expects long, got float 2\.5"):
        enforce_input(schema, {"n": 2.5})


def test_columns_of_different_lengths_are_refused() -> None:
    schema = Signature(inputs=Schema([ColSpec("string", "a"), ColSpec("string", "b")])).inputs

    with pytest.raises(SchemaEnforcementError, match="same length; got a: 2, b: 1"):
        enforce_input(schema, {"a": ["x", "y"], "b": ["z"]})


def test_input_that_is_not_an_object_is_refused_with_the_columns(
    prompt_signature: Signature,
) -> None:
    with pytest.raises(SchemaEnforcementError, match="object with columns prompt; got int"):
        enforce_input(prompt_signature.inputs, 42)


def test_plain_type_inputs_are_checked_per_item() -> None:
    assert enforce_input({"type": "number"}, [1, 2]) == [1.0, 2.0]
    with pytest.raises(SchemaEnforcementError, match=r"input\[1\] expects double"):
        enforce_input({"type": "number"}, [1, "x"])


def test_no_input_schema_passes_anything_through() -> None:
    marker = object()

    assert enforce_input(None, marker) is marker


# --- enforcement: params ----------------------------------------------------------------------


def test_params_defaults_are_filled_and_given_values_coerced(prompt_signature: Signature) -> None:
    params = enforce_params(prompt_signature.params, {"temperature": 1})

    assert params == {"temperature": 1.0, "max_tokens": 1000}
    assert isinstance(params["temperature"], float)


def test_unknown_params_are_refused_listing_the_accepted_ones(prompt_signature: Signature) -> None:
    with pytest.raises(SchemaEnforcementError) as caught:
        enforce_params(prompt_signature.params, {"top_k": 5})

    assert caught.value.param == "top_k"
    assert caught.value.message == "Unknown param 'top_k'; accepted params: temperature, max_tokens"


def test_param_of_the_wrong_type_names_the_param(prompt_signature: Signature) -> None:
    with pytest.raises(SchemaEnforcementError) as caught:
        enforce_params(prompt_signature.params, {"max_tokens": "lots"})

    assert caught.value.param == "max_tokens"
    assert "param 'max_tokens' expects long, got str 'lots'" in caught.value.message


def test_non_finite_param_is_refused(prompt_signature: Signature) -> None:
    with pytest.raises(SchemaEnforcementError, match="must be finite"):
        enforce_params(prompt_signature.params, {"temperature": float("nan")})


def test_a_model_without_params_refuses_any() -> None:
    with pytest.raises(SchemaEnforcementError, match="accepts no params, got: seed"):
        enforce_params(None, {"seed": 1})
    assert enforce_params(None, None) == {}


def test_a_type_hint_schema_enforces_the_input_as_sent() -> None:
    schema = schema_from_type_hint(list[str])

    assert enforce_input(schema, ["a", "b"]) == ["a", "b"]
    with pytest.raises(SchemaEnforcementError, match=r"input\[1\] expects string, got int 2"):
        enforce_input(schema, ["a", 2])


def test_numpy_columns_are_read_as_columns() -> None:
    import numpy as np

    schema = Signature(inputs=Schema([ColSpec("string", "q"), ColSpec("double", "w")])).inputs

    assert enforce_input(schema, {"q": np.array(["a", "b"]), "w": np.array([1, 2])}) == {
        "q": ["a", "b"],
        "w": [1.0, 2.0],
    }
