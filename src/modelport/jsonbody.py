"""JSON from clients, decoded with bounded work and nothing that later code cannot handle.

``json.loads`` accepts documents that break what comes after it: nesting deep enough to exhaust
Python's recursion (in the parser itself, or later in validation and ``repr``), integer literals
longer than Python converts (4,300 digits), and lone UTF-16 surrogates (``"\\ud800"``), which no
tokenizer and no UTF-8 encoder takes. :func:`loads` refuses each of them with an
``InvalidRequestError`` whose ``param`` names where it is (``messages[0].content``)::

    loads('{"seed": 1e999}')            # InvalidRequestError … 'seed' … not a finite number
    loads('[' * 100_000 + ']' * 100_000)  # … nested deeper than 128 levels

The server (request bodies) and ``modelport predict`` (input files) both use it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from modelport.errors import InvalidRequestError

MAX_DEPTH = 128
# Python refuses longer integer strings (sys.get_int_max_str_digits); no field needs more.
MAX_INT_DIGITS = 4300

# A lone surrogate can only come from a \\uD800-\\uDFFF escape (the text itself is valid UTF-8).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB]|\\u[dD][c-fC-F]")


class _Marker:
    """Stands for a value that was refused, so that a second pass can find where it was."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Refused(Exception):
    pass


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused
    return int(text)


def _marked_int(text: str) -> int | _Marker:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Marker(f"is an integer of {digits} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused
    return value


def _marked_float(text: str) -> float | _Marker:
    value = float(text)
    if not math.isfinite(value):
        return _Marker(f"is {text}, not a finite number")
    return value


def _constant(name: str) -> Any:
    raise InvalidRequestError(f"{name} is not a JSON value; use null or a finite number")


def _path(parts: list[int | str]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _refuse(at: list[int | str], reason: str, what: str) -> InvalidRequestError:
    where = _path(at)
    if not where:
        return InvalidRequestError(f"{what} {reason}")
    return InvalidRequestError(f"{what}: '{where}' {reason}", param=where)


def _check(data: Any, what: str, *, surrogates: bool) -> None:
    """Walk ``data`` without recursion: depth, refused values, and (if asked) lone surrogates."""
    stack: list[tuple[Any, list[int | str]]] = [(data, [])]
    while stack:
        value, at = stack.pop()
        if isinstance(value, _Marker):
            raise _refuse(at, value.reason, what)
        if surrogates and isinstance(value, str) and _has_surrogate(value):
            raise _refuse(
                at, "holds a lone UTF-16 surrogate (\\ud800-\\udfff); send valid Unicode", what
            )
        if isinstance(value, (dict, list)) and len(at) >= MAX_DEPTH:
            # named by its top-level field: the full path would be MAX_DEPTH parts long
            raise _refuse(at[:1], f"is nested deeper than {MAX_DEPTH} levels", what)
        if isinstance(value, dict):
            for key, item in value.items():
                if surrogates and _has_surrogate(key):
                    raise _refuse(at, f"has a key with a lone UTF-16 surrogate: {key!r}", what)
                stack.append((item, [*at, key]))
        elif isinstance(value, list):
            stack.extend((item, [*at, i]) for i, item in enumerate(value))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def loads(text: str, what: str = "The body") -> Any:
    """``text`` as JSON, or an ``InvalidRequestError`` that says what and where (``what`` names
    the document in the message: ``"The body"``, ``"input file 'x.json'"``)."""
    refused = False
    try:
        data = json.loads(text, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InvalidRequestError(f"{what} is nested deeper than {MAX_DEPTH} levels") from None
    except _Refused:
        # Rare: parse again, keeping markers, so that the walk says which field held the value.
        try:
            data = json.loads(
                text, parse_constant=_constant, parse_int=_marked_int, parse_float=_marked_float
            )
        except RecursionError:  # the first parse stopped at the refused value, before the depth
            raise InvalidRequestError(f"{what} is nested deeper than {MAX_DEPTH} levels") from None
        refused = True
    # The walk is skipped when the text shows that it cannot find anything.
    deep = text.count("[") + text.count("{") > MAX_DEPTH
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    if refused or deep or surrogates:
        _check(data, what, surrogates=surrogates)
    return data
