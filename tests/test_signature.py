"""Signatures: building them, inferring them from examples, enforcing them, printing them."""

from __future__ import annotations

from typing import Any, Literal, Optional, TypedDict

import pandas as pd
import pytest

from modelport import ColSpec, ParamSchema, ParamSpec, Schema, Signature, infer_signature
from modelport.errors import SchemaEnforcementError
from modelport.signature import (
    chat_signature,
    completions_signature,
    enforce_input,
    enforce_params,
    schema_from_type_hint,
    type_schema,
)


def prompt_signature() -> Signature:
    return Signature(
        inputs=Schema([ColSpec("string", "prompt")]),
        outputs=Schema([ColSpec("string", "candidates")]),
        params=ParamSchema(
            [ParamSpec("temperature", "float", 0.1), ParamSpec("max_tokens", "int", 1000)]
        ),
    )


# --- building ---------------------------------------------------------------------------------


def test_colspec_and_paramspec_build_json_schema() -> None:
    signature = prompt_signature()

    assert signature.inputs == {
        "type": "object",
        "properties": {"prompt": {"type": "string"}},
        "required": ["prompt"],
    }
    assert signature.params == {
        "type": "object",
        "properties": {
            "temperature": {"type": "number", "default": 0.1},
            "max_tokens": {"type": "integer", "default": 1000},
        },
        "additionalProperties": False,
    }
    assert signature.param_defaults() == {"temperature": 0.1, "max_tokens": 1000}


def test_optional_column_and_list_param() -> None:
    signature = Signature(
        inputs=Schema([ColSpec("string", "prompt"), ColSpec("long", "k", required=False)]),
        params=ParamSchema([ParamSpec("stop", "string", ["\n"], shape=(-1,))]),
    )

    assert signature.inputs is not None and signature.inputs["required"] == ["prompt"]
    assert signature.params is not None
    assert signature.params["properties"]["stop"] == {
        "type": "array",
        "items": {"type": "string"},
        "default": ["\n"],
    }


def test_unnamed_single_column_is_a_plain_type() -> None:
    assert Signature(outputs=Schema([ColSpec("string")])).outputs == {"type": "string"}


@pytest.mark.parametrize(
    ("given", "schema"),
    [
        ("double", {"type": "number"}),
        ("long", {"type": "integer"}),
        ("boolean", {"type": "boolean"}),
        (str, {"type": "string"}),
        (float, {"type": "number"}),
        ({"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["a"]}),
    ],
)
def test_type_names_python_types_and_json_schema_are_accepted(given: Any, schema: Any) -> None:
    assert type_schema(given) == schema


def test_unknown_type_lists_the_accepted_ones() -> None:
    with pytest.raises(SchemaEnforcementError, match=r"Unknown type 'varchar'; accepted types: .*"):
        Signature(inputs=Schema([ColSpec("varchar", "x")]))


def test_default_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(SchemaEnforcementError, match="default"):
        Signature(params=ParamSchema([ParamSpec("k", "long", "many")]))


def test_several_columns_need_names() -> None:
    with pytest.raises(SchemaEnforcementError, match="needs a name"):
        Signature(inputs=Schema([ColSpec("string"), ColSpec("long", "n")]))


def test_signature_round_trips_through_a_dict() -> None:
    signature = prompt_signature()

    assert Signature.from_dict(signature.to_dict()) == signature


# --- printing ---------------------------------------------------------------------------------


def test_repr_prints_readably_as_the_tutorials_show() -> None:
    assert repr(prompt_signature()) == (
        "inputs: \n"
        "  ['prompt': string (required)]\n"
        "outputs: \n"
        "  ['candidates': string (required)]\n"
        "params: \n"
        "  ['temperature': double (default: 0.1), 'max_tokens': long (default: 1000)]\n"
    )


def test_repr_of_nested_inferred_input() -> None:
    signature = infer_signature({"messages": [{"role": "user", "content": "hi"}]})

    assert "['messages': Array({role: string (required), content: string (required)})" in repr(
        signature
    )
    assert "params: \n  None" in repr(signature)


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


# --- enforcement: inputs ----------------------------------------------------------------------


def test_single_row_dict_and_records_and_columns_all_become_columns() -> None:
    schema = prompt_signature().inputs

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
def test_type_errors_name_the_column(data: Any, column: str, words: str) -> None:
    with pytest.raises(SchemaEnforcementError) as caught:
        enforce_input(prompt_signature().inputs, data)

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


def test_input_that_is_not_an_object_is_refused_with_the_columns() -> None:
    with pytest.raises(SchemaEnforcementError, match="object with columns prompt; got int"):
        enforce_input(prompt_signature().inputs, 42)


def test_plain_type_inputs_are_checked_per_item() -> None:
    assert enforce_input({"type": "number"}, [1, 2]) == [1.0, 2.0]
    with pytest.raises(SchemaEnforcementError, match=r"input\[1\] expects double"):
        enforce_input({"type": "number"}, [1, "x"])


def test_no_input_schema_passes_anything_through() -> None:
    marker = object()

    assert enforce_input(None, marker) is marker


# --- enforcement: params ----------------------------------------------------------------------


def test_params_defaults_are_filled_and_given_values_coerced() -> None:
    params = enforce_params(prompt_signature().params, {"temperature": 1})

    assert params == {"temperature": 1.0, "max_tokens": 1000}
    assert isinstance(params["temperature"], float)


def test_unknown_params_are_refused_listing_the_accepted_ones() -> None:
    with pytest.raises(SchemaEnforcementError) as caught:
        enforce_params(prompt_signature().params, {"top_k": 5})

    assert caught.value.param == "top_k"
    assert caught.value.message == "Unknown param 'top_k'; accepted params: temperature, max_tokens"


def test_param_of_the_wrong_type_names_the_param() -> None:
    with pytest.raises(SchemaEnforcementError) as caught:
        enforce_params(prompt_signature().params, {"max_tokens": "lots"})

    assert caught.value.param == "max_tokens"
    assert "param 'max_tokens' expects long, got str 'lots'" in caught.value.message


def test_non_finite_param_is_refused() -> None:
    with pytest.raises(SchemaEnforcementError, match="must be finite"):
        enforce_params(prompt_signature().params, {"temperature": float("nan")})


def test_a_model_without_params_refuses_any() -> None:
    with pytest.raises(SchemaEnforcementError, match="accepts no params, got: seed"):
        enforce_params(None, {"seed": 1})
    assert enforce_params(None, None) == {}


# --- the LLM task signatures ------------------------------------------------------------------


def test_chat_and_completions_signatures_name_their_inputs() -> None:
    chat = chat_signature()
    completions = completions_signature()

    assert chat.inputs is not None and chat.inputs["required"] == ["messages"]
    assert completions.inputs is not None and completions.inputs["required"] == ["prompt"]
    assert "'messages': Array({role: string (required)" in repr(chat)


def test_mlflow_spellings_model_signature_and_dtype() -> None:
    from modelport import ModelSignature

    signature = ModelSignature(
        inputs=Schema([ColSpec("string", "prompt")]),
        outputs=Schema([ColSpec("string", "candidates")]),
        params=ParamSchema(
            [
                ParamSpec("temperature", "float", default=0.1),
                ParamSpec(name="max_tokens", dtype="integer", default=1000),
            ]
        ),
    )

    assert signature == prompt_signature()
    assert ParamSpec("k", dtype="long").type == "long"


def test_a_paramspec_needs_its_type_once() -> None:
    with pytest.raises(SchemaEnforcementError, match="needs its type, given once"):
        ParamSpec("k")
    with pytest.raises(SchemaEnforcementError, match="needs its type, given once"):
        ParamSpec("k", "long", dtype="long")


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


def test_a_type_hint_schema_enforces_the_input_as_sent() -> None:
    schema = schema_from_type_hint(list[str])

    assert enforce_input(schema, ["a", "b"]) == ["a", "b"]
    with pytest.raises(SchemaEnforcementError, match=r"input\[1\] expects string, got int 2"):
        enforce_input(schema, ["a", 2])
