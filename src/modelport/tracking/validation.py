"""The naming and value rules of the tracking store, checked before anything is written.

Names become parts of paths and URIs (``models:/<name>@<alias>``, ``runs:/<run_id>/<path>``),
so they may not hold path separators; keys (params, metrics, tags) never become paths and may
hold ``/`` (``train/loss``). Every rule raises :class:`InvalidRequestError` saying what is
accepted.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from modelport.errors import InvalidRequestError

MAX_NAME_LENGTH = 256
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_DESCRIPTION_LENGTH = 5000
MAX_ALIAS_LENGTH = 255

_FORBIDDEN_IN_NAMES = set("/\\@:")
_KEY = re.compile(r"^[\w\-. /]+$")
_ALIAS = re.compile(r"^[A-Za-z0-9_-]+$")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def check_name(value: Any, what: str) -> str:
    """An experiment, registered model or logged model name: one path segment, readable."""
    rule = (
        f"a {what} must be a non-empty string of at most {MAX_NAME_LENGTH} characters, "
        "without '/', '\\', '@', ':' or control characters, and not '.' or '..'"
    )
    if not isinstance(value, str):
        raise InvalidRequestError(f"Invalid {what} {value!r}: {rule}", param=what)
    if (
        not value.strip()
        or value != value.strip()
        or len(value) > MAX_NAME_LENGTH
        or value in (".", "..")
        or any(c in _FORBIDDEN_IN_NAMES or not c.isprintable() for c in value)
    ):
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise InvalidRequestError(
            f"Invalid {what} {shown!r} ({len(value)} characters): {rule}", param=what
        )
    return value


def check_key(value: Any, what: str) -> str:
    """A param, metric or tag key."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_KEY_LENGTH
        or not _KEY.match(value)
        or ".." in value.split("/")
        or value.startswith("/")
    ):
        shown = value if not isinstance(value, str) or len(value) <= 60 else value[:57] + "..."
        raise InvalidRequestError(
            f"Invalid {what} {shown!r}: a key must be 1 to {MAX_KEY_LENGTH} characters of "
            "letters, digits, '_', '-', '.', ' ' and '/' (not starting with '/')",
            param=what,
        )
    return value


def check_text(value: Any, what: str, limit: int) -> str:
    """A param value, tag value or description: converted to text, at most ``limit`` long."""
    if value is None:
        raise InvalidRequestError(f"{what} must not be None", param=what)
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidRequestError(
            f"{what} is {len(text)} characters long; at most {limit} are accepted", param=what
        )
    return text


def check_metric_value(key: str, value: Any) -> float:
    """Metric values are finite real numbers: NaN and ±inf are rejected, never stored."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidRequestError(
            f"Metric '{key}' has value {value!r} of type {type(value).__name__}; "
            "a metric value must be a finite number (int or float)",
            param="value",
        )
    number = float(value)
    if not math.isfinite(number):
        raise InvalidRequestError(
            f"Metric '{key}' has value {number!r}; metric values must be finite numbers "
            "(NaN and ±inf are rejected: log them as a tag if you need to record them)",
            param="value",
        )
    return number


def check_int(value: Any, what: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidRequestError(
            f"{what} must be an integer, got {value!r} ({type(value).__name__})", param=what
        )
    number = int(value)
    if minimum is not None and number < minimum:
        raise InvalidRequestError(f"{what} must be >= {minimum}, got {number}", param=what)
    if abs(number) >= 2**63:
        raise InvalidRequestError(f"{what} must fit in 64 bits, got {number}", param=what)
    return number


def check_alias(value: Any) -> str:
    """An alias: letters, digits, '_' and '-'; not 'latest' and not like a version ('v3')."""
    rule = (
        f"an alias must be 1 to {MAX_ALIAS_LENGTH} letters, digits, '_' or '-', and may not be "
        "'latest' or look like a version ('3', 'v3')"
    )
    if (
        not isinstance(value, str)
        or not _ALIAS.match(value)
        or len(value) > MAX_ALIAS_LENGTH
        or value.lower() == "latest"
        or re.fullmatch(r"[vV]?\d+", value)
    ):
        raise InvalidRequestError(f"Invalid alias {value!r}: {rule}", param="alias")
    return value


def check_version(value: Any) -> int:
    """A model version number (an int or its decimal string), >= 1."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 1 <= int(value) < 2**63
    ):
        raise InvalidRequestError(
            f"Invalid model version {value!r}: a version is a whole number >= 1", param="version"
        )
    return int(value)


def check_run_id(value: Any) -> str:
    if not isinstance(value, str) or not _RUN_ID.match(value):
        raise InvalidRequestError(
            f"Invalid run id {value!r}: a run id is 32 lowercase hexadecimal characters",
            param="run_id",
        )
    return value
