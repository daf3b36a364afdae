"""The server's settings, as explicit arguments (the CLI maps its flags onto them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from modelport.errors import InvalidRequestError
from modelport.serving.registry import ModelSource

MiB = 1024 * 1024


@dataclass
class ServerConfig:
    """What ``create_app`` needs.

    ``models`` maps each served name to a URI, a path or an already loaded model.
    """

    models: Mapping[str, ModelSource]
    api_key: str | None = None
    cors_origins: Sequence[str] = ()
    max_concurrency: int = 32
    max_queue: int = 128
    timeout: float | None = 600.0
    max_body_size: int = 10 * MiB
    retry_after: int = 1
    batching: bool = True
    on_progress: Callable[[str], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise InvalidRequestError(
                f"max_concurrency must be at least 1, got {self.max_concurrency}"
            )
        if self.max_queue < 0:
            raise InvalidRequestError(f"max_queue must be 0 or more, got {self.max_queue}")
        if self.timeout is not None and self.timeout <= 0:
            raise InvalidRequestError(f"timeout must be more than 0 seconds, got {self.timeout}")
        if self.max_body_size < 1:
            raise InvalidRequestError(
                f"max_body_size must be at least 1 byte, got {self.max_body_size}"
            )
        if self.api_key is not None and not self.api_key.strip():
            raise InvalidRequestError("the API key must not be empty")
