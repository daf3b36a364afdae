"""ServerConfig refuses settings that make no sense, saying which."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidRequestError
from modelport.serving import ServerConfig


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_concurrency", 0, "max_concurrency must be at least 1"),
        ("max_queue", -1, "max_queue must be 0 or more"),
        ("timeout", 0, "timeout must be more than 0"),
        ("max_body_size", 0, "max_body_size must be at least 1"),
        ("api_key", "  ", "API key must not be empty"),
    ],
)
def test_bad_settings(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        ServerConfig(models={"m": "x"}, **{field: value})  # type: ignore[arg-type]


def test_defaults() -> None:
    config = ServerConfig(models={"m": "x"})
    assert (config.max_concurrency, config.max_queue, config.timeout) == (32, 128, 600.0)
    assert config.api_key is None and config.batching is True
