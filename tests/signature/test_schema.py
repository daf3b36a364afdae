"""Building signatures with ColSpec/ParamSpec, MLflow spellings, and how they print."""

from __future__ import annotations

from typing import Any

import pytest

from modelport import ColSpec, ParamSchema, ParamSpec, Schema, Signature, infer_signature
from modelport.errors import SchemaEnforcementError
from modelport.signature import (
    type_schema,
)

# --- building ---------------------------------------------------------------------------------


def test_colspec_and_paramspec_build_json_schema(prompt_signature: Signature) -> None:
    signature = prompt_signature

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


def test_signature_round_trips_through_a_dict(prompt_signature: Signature) -> None:
    signature = prompt_signature

    assert Signature.from_dict(signature.to_dict()) == signature


# --- printing ---------------------------------------------------------------------------------


def test_repr_prints_readably_as_the_tutorials_show(prompt_signature: Signature) -> None:
    assert repr(prompt_signature) == (
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


def test_mlflow_spellings_model_signature_and_dtype(prompt_signature: Signature) -> None:
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

    assert signature == prompt_signature
    assert ParamSpec("k", dtype="long").type == "long"


def test_a_paramspec_needs_its_type_once() -> None:
    with pytest.raises(SchemaEnforcementError, match="needs its type, given once"):
        ParamSpec("k")
    with pytest.raises(SchemaEnforcementError, match="needs its type, given once"):
        ParamSpec("k", "long", dtype="long")


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: Signature(inputs=5), "inputs must be a list of ColSpec or a JSON Schema, got int"),
        (lambda: Signature(params="x"), "params must be a list of ParamSpec or a JSON Schema"),
        (lambda: Signature.from_dict(5), "a signature is a dict with inputs, outputs and params"),
    ],
)
def test_bad_signature_arguments_are_refused(build: Any, words: str) -> None:
    with pytest.raises(SchemaEnforcementError, match=words):
        build()
