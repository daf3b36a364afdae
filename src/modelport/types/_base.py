"""The base of every wire type: dict round-trips and errors from the project's tree."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from modelport.errors import InvalidRequestError
from modelport.settings import describe

T = TypeVar("T", bound="WireModel")


def invalid_request_from(exc: ValidationError, what: str) -> InvalidRequestError:
    """One readable error naming the first offending field, e.g. ``messages[0].role``."""
    message, param = describe(exc, what)
    return InvalidRequestError(message, param=param)


class WireModel(BaseModel):
    """A pydantic model of the OpenAI wire format.

    Nested plain dicts are accepted wherever a nested type is expected; ``to_dict`` leaves out
    fields that are None.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @classmethod
    def parse(cls: type[T], data: Any) -> T:
        """Validate ``data`` (a dict or an instance), raising :class:`InvalidRequestError`."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise InvalidRequestError(
                f"Invalid {cls.__name__}: expected a JSON object, got {type(data).__name__}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid_request_from(exc, cls.__name__) from None

    @classmethod
    def from_dict(cls: type[T], data: Any) -> T:
        """MLflow's name for :meth:`parse` (``ChatCompletionResponse.from_dict(output)``)."""
        return cls.parse(data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with None fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


class RequestModel(WireModel):
    """A request: unknown fields are accepted (clients send new ones) and reported."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def ignored_fields(self) -> list[str]:
        """Names of the fields the client sent that modelport does not know (to log them)."""
        return sorted(self.model_extra or ())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with None fields and the ignored (unknown) fields left out."""
        return self.model_dump(mode="json", exclude_none=True, exclude=set(self.model_extra or ()))


class KeepsNulls(WireModel):
    """A wire type with fields that OpenAI always sends, null included.

    A chunk's ``finish_reason`` is null until the end, and clients test
    ``finish_reason !== null``: such fields stay in ``to_dict`` even when None.
    """

    always_sent: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _keep_always_sent(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in self.always_sent:
                data.setdefault(name, getattr(self, name))
        return data
