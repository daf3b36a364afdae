"""Signatures: what a model takes and gives, as JSON Schema.

A :class:`Signature` holds three JSON Schemas: ``inputs`` (a row: an object whose properties are
the columns, or a single type), ``outputs`` and ``params`` (an object whose properties carry their
``default``). ``ColSpec`` and ``ParamSpec`` build them with MLflow's type names
(``string``, ``double``, ``long``, ``boolean``…); ``infer_signature`` derives them from examples.

Enforcement at predict time: inputs are validated and coerced column by column (a dict of lists,
a list of records, a single-row dict or a pandas DataFrame); params get their defaults filled,
are coerced, and unknown ones are refused with the list of accepted names.

Modules: ``coerce`` (one value against a schema node), ``schema`` (building and printing),
``infer`` (from examples and type hints), ``enforce`` (at predict time), ``llm`` (the chat and
completions signatures).
"""

from modelport.signature.coerce import JsonSchema, describe
from modelport.signature.enforce import enforce_input, enforce_params
from modelport.signature.infer import infer_schema, infer_signature, schema_from_type_hint
from modelport.signature.llm import chat_signature, completions_signature
from modelport.signature.schema import (
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    Signature,
    TypeSpec,
    type_schema,
)

__all__ = [
    "ColSpec",
    "JsonSchema",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "Signature",
    "TypeSpec",
    "chat_signature",
    "completions_signature",
    "describe",
    "enforce_input",
    "enforce_params",
    "infer_schema",
    "infer_signature",
    "schema_from_type_hint",
    "type_schema",
]
