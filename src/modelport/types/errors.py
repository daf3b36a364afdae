"""The OpenAI error envelope."""

from __future__ import annotations

from modelport.types._base import WireModel


class ErrorDetail(WireModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        # param and code are always present (null when unknown), as in OpenAI's answers
        return self.model_dump(mode="json")


class ErrorResponse(WireModel):
    """``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorDetail

    def to_dict(self) -> dict[str, dict[str, str | None]]:
        return {"error": self.error.to_dict()}
