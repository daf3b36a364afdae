"""Grammars from response_format: compiled with llguidance, cached, applied token by token."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import torch

from modelport.errors import InvalidRequestError, UnsupportedFeatureError
from modelport.structured.grammar import Grammars, json_schema_grammar, response_format_grammar
from modelport.types.chat import ResponseFormat

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 6},
        "age": {"type": "integer", "minimum": 0, "maximum": 99},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def grammars(demo_tokenizer: Any) -> Grammars:
    return Grammars(demo_tokenizer, vocab_size=len(demo_tokenizer), eos_token_ids=[2])


def walk(grammars: Grammars, grammar: str, seed: int, limit: int = 200) -> tuple[str, bool]:
    """Random logits through the grammar's masks: the text produced and whether it completed."""
    row = grammars.constraint(grammar).new_row()
    generator = torch.Generator().manual_seed(seed)
    ids: list[int] = []
    for _ in range(limit):
        logits = torch.randn(grammars.vocab_size, generator=generator)
        logits[~row.allowed()] = -float("inf")
        token = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))
        if token == 2:  # EOS: allowed only once the grammar accepts
            return grammars.lltokenizer().decode_str(ids), True
        row.advance(token)
        ids.append(token)
        if row.done:
            return grammars.lltokenizer().decode_str(ids), True
    return grammars.lltokenizer().decode_str(ids), False


def test_random_walks_through_a_schema_always_validate(grammars: Grammars) -> None:
    grammar = json_schema_grammar(SCHEMA, strict=True, param="response_format")
    for seed in range(40):
        text, complete = walk(grammars, grammar, seed)
        assert complete, text
        jsonschema.validate(json.loads(text), SCHEMA)


def test_json_object_gives_an_object(grammars: Grammars) -> None:
    grammar = response_format_grammar(ResponseFormat(type="json_object"))
    assert grammar is not None
    for seed in range(10):
        text, complete = walk(grammars, grammar, seed, limit=400)
        if complete:
            assert isinstance(json.loads(text), dict)


def test_text_and_no_format_need_no_grammar() -> None:
    assert response_format_grammar(None) is None
    assert response_format_grammar(ResponseFormat(type="text")) is None


def test_a_grammar_is_compiled_once(grammars: Grammars) -> None:
    grammar = json_schema_grammar(
        {"type": "object", "properties": {"zz": {"type": "boolean"}}},
        strict=True,
        param="response_format",
    )
    before = grammars.compiles
    first, second = grammars.constraint(grammar), grammars.constraint(grammar)
    assert grammars.compiles == before + 1
    rows = [first.new_row(), second.new_row()]  # each sequence has its own state
    brace, quote = (grammars.lltokenizer().tokenize_str(text)[0] for text in ("{", '"'))
    rows[0].advance(brace)
    assert bool(rows[0].allowed()[quote]) and not bool(rows[0].allowed()[brace])
    assert bool(rows[1].allowed()[brace]) and not bool(rows[1].allowed()[quote])


@pytest.mark.parametrize(
    ("response_format", "error", "words"),
    [
        ({"type": "json_schema"}, InvalidRequestError, "needs 'json_schema'"),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nope"}}},
            InvalidRequestError,
            "not a valid JSON Schema",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": {"minimum": "low"}}},
            InvalidRequestError,
            "not a valid JSON Schema",
        ),
        (
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "x",
                    "strict": True,
                    "schema": {"type": "array", "uniqueItems": True},
                },
            },
            UnsupportedFeatureError,
            "uniqueItems",
        ),
        (
            {
                "type": "json_schema",
                "json_schema": {"name": "x", "strict": True, "schema": {"not": {"type": "string"}}},
            },
            UnsupportedFeatureError,
            r'\["not"\]',
        ),
        (
            {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"$ref": "#/$defs/gone"}},
            },
            UnsupportedFeatureError,
            "does not exist",
        ),
    ],
)
def test_bad_or_unenforceable_schemas_are_a_400_naming_response_format(
    response_format: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words) as caught:
        response_format_grammar(ResponseFormat.parse(response_format))
    assert getattr(caught.value, "param", "").startswith("response_format")
    assert getattr(caught.value, "status_code", None) == 400


def test_without_strict_an_unenforceable_keyword_is_left_out(grammars: Grammars) -> None:
    schema = {"type": "array", "items": {"enum": [1, 2]}, "maxItems": 3, "uniqueItems": True}
    grammar = json_schema_grammar(schema, strict=False, param="response_format")
    text, complete = walk(grammars, grammar, seed=1)
    assert complete and isinstance(json.loads(text), list)
