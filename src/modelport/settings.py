"""Validated settings: pydantic models whose errors are modelport's, readable and naming the field.

The wire types (``modelport.types``) and the configuration objects (``EngineConfig``,
``ServerConfig``, a package's manifest, a flavor's load options) are all checked by pydantic;
this module turns its ``ValidationError`` into one sentence that names the first offending field
(``messages[0].role``, ``max_batch_size``) and says what was given::

    class EngineConfig(Settings):
        max_batch_size: int = Field(32, ge=1)

    EngineConfig(max_batch_size=0)
    # InvalidRequestError: Invalid EngineConfig for 'max_batch_size': Input should be greater
    # than or equal to 1 (got 0)
"""

from __future__ import annotations

import typing
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from modelport.errors import InvalidRequestError, ModelportError

S = TypeVar("S", bound="Settings")


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the user wrote it: ``messages[0].content``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "int", "float", "bool") or part.startswith(
            ("function-", "tagged-union", "list[", "dict[", "literal[")
        ):
            # pydantic's names for union branches, not fields the user wrote
            continue
        else:
            out += f".{part}" if out else part
    return out


def _fields_at(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> list[str] | None:
    """The field names of the (nested) model that holds the field at ``loc``, if known."""
    for part in loc[:-1]:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        candidates = [annotation, *typing.get_args(annotation)]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    if model is None:
        return None
    return [field.alias or name for name, field in model.model_fields.items()]


def describe(
    exc: ValidationError, what: str, model: type[BaseModel] | None = None
) -> tuple[str, str | None]:
    """``(message, param)`` for the first error of ``exc``, e.g. ``Invalid X for 'a.b': …``.

    ``model``: the model validated, to list the accepted fields when one is unknown.
    """
    reason, param = explain(exc, model)
    where = f" for '{param}'" if param else ""
    return f"Invalid {what}{where}: {reason}", param


def explain(exc: ValidationError, model: type[BaseModel] | None = None) -> tuple[str, str | None]:
    """``(reason, param)``: what is wrong with the first offending field, and its path, for a
    caller that words the sentence itself (a CLI naming its flag, a file naming its path)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    param = field_path(first["loc"]) or None
    got = first.get("input")
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        fields = _fields_at(model, tuple(first["loc"]))
        message = "unknown field"
        if fields is not None:
            message += f"; accepted: {', '.join(sorted(fields))}" if fields else "; none are"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    shown = repr(got) if not isinstance(got, dict) and got is not None else None
    detail = f" (got {shown[:80]})" if shown is not None and first["type"] != "missing" else ""
    more = len(errors) - 1
    tail = f" ({more} more error{'s' if more > 1 else ''})" if more else ""
    return f"{message}{detail}{tail}", param


class Settings(BaseModel):
    """A configuration object: unknown fields are refused, and a bad value raises
    :attr:`error` (``InvalidRequestError`` by default) naming the field, not pydantic's error."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
    error: ClassVar[type[ModelportError]] = InvalidRequestError

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise self._error(exc) from None

    # Nested in another model, a Settings is validated as pydantic's own: the outer model's
    # error then names the full path (``engine_config.max_batch_size``), not this model alone.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def _error(cls, exc: ValidationError) -> ModelportError:
        message, param = describe(exc, cls.__name__, cls)
        return cls.error(message, param=param)

    @classmethod
    def parse(cls: type[S], data: Any, what: str | None = None) -> S:
        """An instance from an instance or a mapping, raising :attr:`error` on bad input."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise cls.error(
                f"{what or cls.__name__} must be a dict (or a {cls.__name__}), "
                f"got {type(data).__name__}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            message, param = describe(exc, what or cls.__name__, cls)
            raise cls.error(message, param=param) from None
