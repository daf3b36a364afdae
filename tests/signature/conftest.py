"""A signature shared by the schema and enforcement tests."""

from __future__ import annotations

import pytest

from modelport import ColSpec, ParamSchema, ParamSpec, Schema, Signature


@pytest.fixture
def prompt_signature() -> Signature:
    """A prompt column in, candidates out, and two params with defaults."""
    return Signature(
        inputs=Schema([ColSpec("string", "prompt")]),
        outputs=Schema([ColSpec("string", "candidates")]),
        params=ParamSchema(
            [ParamSpec("temperature", "float", 0.1), ParamSpec("max_tokens", "int", 1000)]
        ),
    )
