"""Request bodies over HTTP: the Content-Type check and JSON decoding, with readable errors.

What a decoded ``/invocations`` body means (the MLflow scoring formats) is
:mod:`modelport.scoring`, shared with ``modelport predict``.
"""

from __future__ import annotations

from typing import Any

from modelport import jsonbody
from modelport.errors import InvalidRequestError
from modelport.scoring import json_type

_JSON_TYPES = ("application/json",)


def check_content_type(content_type: str | None) -> None:
    """JSON bodies only; a missing Content-Type is taken as JSON."""
    if not content_type:
        return
    media = content_type.split(";")[0].strip().lower()
    if media in _JSON_TYPES or media.endswith("+json"):
        return
    raise InvalidRequestError(
        f"The body must be JSON sent with 'Content-Type: application/json', got '{media}'",
        code="unsupported_media_type",
    )


def decode_json(body: bytes) -> Any:
    """The body as JSON, or an :class:`InvalidRequestError` saying where it breaks."""
    if not body.strip():
        raise InvalidRequestError("The request body is empty; send a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(
            f"The body is not valid UTF-8 (byte {exc.start}); send JSON encoded as UTF-8"
        ) from None
    return jsonbody.loads(text, "The body")


def decode_object(body: bytes) -> dict[str, Any]:
    data = decode_json(body)
    if not isinstance(data, dict):
        raise InvalidRequestError(f"The body must be a JSON object, got a JSON {json_type(data)}")
    return data
