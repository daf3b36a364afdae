"""JSON as a model writes it: complete values, prefixes of values, and arguments that only grow.

Complete values are read with the standard library, prefixes with ``partial-json-parser``
(which completes an unfinished object, array or string; numbers, ``true``/``false``/``null`` and
object keys count only once they are whole). Both read leniently where models slip and the
meaning is clear (raw control characters inside strings are taken as written), and strictly
where it is not: a duplicate key, ``NaN``/``Infinity`` or a number out of range make the JSON
malformed.

Arguments are given to clients in one normal form, :func:`dumps`: compact (no spaces), non-ASCII
characters as themselves, lone surrogates escaped. :class:`ArgumentsWriter` turns the successive
prefixes of an arguments object into fragments such that every fragment sent stays a prefix of
the final text: the concatenation of the fragments is exactly the call's ``arguments``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import partial_json_parser
from partial_json_parser import Allow

# A prefix's unfinished strings, objects and arrays are completed; other unfinished values are
# left out (a number's digits, or "tr" for true, could still change what they mean).
_WITH_STRINGS = Allow.STR | Allow.OBJ | Allow.ARR
_WHOLE_STRINGS = Allow.OBJ | Allow.ARR
_SURROGATE = re.compile("[\ud800-\udfff]")
_HIGH_SURROGATE = re.compile("[\ud800-\udbff]$")
# What a serialized prefix ends with while its last string, array or object is still open.
_CLOSERS = '"]}'


class MalformedJSON(ValueError):
    """The text is not JSON, nor the beginning of any JSON value."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise MalformedJSON("an object has the same key twice")
    return result


def _no_constant(name: str) -> Any:
    raise MalformedJSON(f"{name} is not JSON")


_DECODER = json.JSONDecoder(
    strict=False, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant
)


def complete(text: str) -> tuple[Any, int] | None:
    """The JSON value that ``text`` starts with, and where it ends; None when the value is not
    finished (or the text is not JSON: :func:`prefix` tells which)."""
    try:
        return _DECODER.raw_decode(text)
    except MalformedJSON:
        raise
    except (ValueError, RecursionError):
        return None


def prefix(text: str, *, partial_strings: bool = True) -> Any:
    """The value that the unfinished JSON ``text`` holds so far (see the module's docstring);
    with ``partial_strings=False`` an unfinished string is left out too.

    Raises :class:`MalformedJSON` when ``text`` cannot begin any JSON value.
    """
    allow = _WITH_STRINGS if partial_strings else _WHOLE_STRINGS
    try:
        return partial_json_parser.parse_json(
            text, allow, parser=_DECODER.decode, use_fast_fix=False
        )
    except MalformedJSON:
        raise
    except (partial_json_parser.MalformedJSON, ValueError, IndexError, RecursionError) as exc:
        raise MalformedJSON(str(exc)) from None


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _dumps_raw(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> str:
    """The normal form of arguments: compact JSON, non-ASCII as is, lone surrogates escaped
    (so the text can always be encoded as UTF-8). Raises ``ValueError`` for non-finite floats."""
    return _SURROGATE.sub(_escape_surrogate, _dumps_raw(value))


def _stable_prefix(serialized: str) -> str:
    """The part of a prefix's serialization that the rest of the value cannot change: the
    closing quotes and brackets that completed it are cut, and a high surrogate that the next
    escape may pair up."""
    stable = serialized.rstrip(_CLOSERS)
    return _HIGH_SURROGATE.sub("", stable)


class ArgumentsWriter:
    """One call's arguments, sent as fragments that are never taken back.

    ``update`` takes each new prefix of the arguments object (a dict, as :func:`prefix` gives
    it) and returns the text to send; ``close`` takes the final value and returns the last
    fragment. After ``close``, ``text`` is the call's ``arguments`` (the fragments joined).
    """

    def __init__(self) -> None:
        self.text = ""
        # What was sent, before its surrogates were escaped (escaping is per character, so
        # escaping the increments gives the same text as escaping the whole).
        self._raw = ""
        # A complete object that ``_raw`` is a prefix of: the arguments if the call breaks off.
        self._fallback = "{}"

    def _advance(self, raw: str) -> str:
        fragment = _SURROGATE.sub(_escape_surrogate, raw[len(self._raw) :])
        self._raw = raw
        self.text += fragment
        return fragment

    def update(self, arguments: Any) -> str:
        if not isinstance(arguments, dict):
            return ""
        try:
            serialized = _dumps_raw(arguments)
        except ValueError:
            return ""
        stable = _stable_prefix(serialized)
        if not stable.startswith(self._raw):
            return ""  # not a continuation of what was sent: wait for the final value
        self._fallback = serialized
        return self._advance(stable)

    def close(self, arguments: Any) -> str:
        """The last fragment, for the final ``arguments`` (a dict; a string holding a JSON
        object is read as that object; None means none were written: ``{}``). Anything else,
        or a value that does not continue what was sent, closes the object sent so far."""
        if arguments is None:
            arguments = {}
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                arguments = None
        final = self._fallback
        if isinstance(arguments, dict):
            try:
                candidate = _dumps_raw(arguments)
            except ValueError:
                candidate = ""
            if candidate.startswith(self._raw):
                final = candidate
        return self._advance(final)

    def close_broken(self) -> str:
        """The last fragment when the call broke off: the object sent so far, closed."""
        return self._advance(self._fallback)
