"""ServerConfig refuses settings that make no sense, saying which."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidRequestError
from modelport.serving import ServerConfig


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_concurrency", 0, "'max_concurrency': Input should be greater than or equal to 1"),
        ("max_queue", -1, "'max_queue': Input should be greater than or equal to 0"),
        ("timeout", 0, "'timeout': Input should be greater than 0"),
        ("max_body_size", 0, "'max_body_size': Input should be greater than or equal to 1"),
        ("api_key", "  ", "API key must not be empty"),
        ("max_concurrency", "many", "'max_concurrency': Input should be a valid integer"),
        ("speed", 11, "'speed': unknown field; accepted: api_key, body_timeout, cors_origins"),
    ],
)
def test_bad_settings(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as raised:
        ServerConfig(models={"m": "x"}, **{field: value})  # type: ignore[arg-type]
    assert raised.value.param == field


def test_defaults() -> None:
    config = ServerConfig(models={"m": "x"})
    assert (config.max_concurrency, config.max_queue, config.timeout) == (32, 128, 600.0)
    assert config.api_key is None and dict(config.load_options) == {}
