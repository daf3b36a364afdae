"""The server's settings, as explicit arguments (the CLI maps its flags onto them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from modelport.serving.served import ModelSource
from modelport.settings import Settings

MiB = 1024 * 1024


class ServerConfig(Settings):
    """What ``create_app`` needs; a bad value is an ``InvalidRequestError`` naming the field.

    ``models`` maps each served name to a URI, a path or an already loaded model.
    ``load_options`` go to ``load_model`` for every model whose flavor takes them
    (``{"batching": False}`` is ``--no-batching``).
    ``ui`` serves the web UI under ``/ui`` (the chat playground on this server's ``/v1``), with
    the tracking pages over ``ui_store`` when one is given (a tracking URI, as ``--store``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    models: Mapping[str, ModelSource]
    api_key: str | None = None
    cors_origins: Sequence[str] = ()
    max_concurrency: int = Field(32, ge=1)
    max_queue: int = Field(128, ge=0)
    timeout: float | None = Field(600.0, gt=0)
    max_body_size: int = Field(10 * MiB, ge=1)
    body_timeout: float = Field(60.0, gt=0)
    retry_after: int = Field(1, ge=0)
    load_options: Mapping[str, Any] = Field(default_factory=dict)
    on_progress: Callable[[str], None] | None = Field(default=None, repr=False)
    ui: bool = False
    ui_store: str | None = None

    @model_validator(mode="after")
    def _store_needs_ui(self) -> ServerConfig:
        if self.ui_store is not None and not self.ui:
            raise ValueError("ui_store is the store of the web UI's pages: it needs ui=True")
        return self

    @field_validator("api_key")
    @classmethod
    def _key_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the API key must not be empty")
        return value
