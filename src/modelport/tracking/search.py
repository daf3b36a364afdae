"""The small run search language of ``search_runs``.

A filter is clauses joined by ``and``::

    metrics.accuracy > 0.9 and params.lr = '0.01' and tags.team = 'nlp' and status = 'FINISHED'

- ``metrics.<key>`` compares numbers (``= != < <= > >=``) with the run's latest value;
- ``params.<key>`` and ``tags.<key>`` compare strings in quotes (``=`` ``!=``, ``LIKE`` with ``%``);
- attributes (optionally prefixed ``attributes.``): ``status``, ``run_name``, ``run_id`` (strings),
  ``start_time``, ``end_time`` (numbers, ms). Keys with spaces go in backticks.

``order_by`` takes items like ``"metrics.accuracy DESC"`` or ``"start_time"`` (ASC by default);
runs missing the value sort last; ties are broken by run id. The default order is newest first.

A run without the value a clause names never matches that clause (``!=`` included). ``LIKE`` is
case-sensitive and ``%`` is its one wildcard. A page token stands for where the next page of a
search starts. The database evaluates all of this: see ``store/run_search.py``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidRequestError

_ENTITIES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
}
_STRING_ATTRIBUTES = ("status", "run_name", "run_id")
_NUMBER_ATTRIBUTES = ("start_time", "end_time")
_CLAUSE = re.compile(
    r"""^\s*(?P<ident>(?:[A-Za-z_]+\.)?(?:`[^`]+`|"[^"]+"|[\w\-./]+))\s*
    (?P<op>==|!=|<=|>=|=|<|>|(?i:not\s+like|like))\s*
    (?P<value>'(?:[^']*)'|"(?:[^"]*)"|[-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*$""",
    re.VERBOSE,
)
_SPLIT_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
FILTER_HELP = (
    "write clauses like \"metrics.acc > 0.9 and params.lr = '0.01' and tags.t = 'x' and "
    "status = 'FINISHED'\""
)


@dataclass(frozen=True)
class Clause:
    """``<entity>.<key> <op> <value>``: entity metrics, params, tags or attributes; op one of
    ``= == != < <= > >= like``, ``not like``; value a float (numbers) or a str."""

    entity: str
    key: str
    op: str
    value: Any


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`\"'":
        return text[1:-1]
    return text


def _split_ident(ident: str) -> tuple[str, str]:
    head, _, rest = ident.partition(".")
    if rest and head.lower() in _ENTITIES:
        return _ENTITIES[head.lower()], _unquote(rest)
    return "attributes", _unquote(ident)


def _check_attribute(key: str) -> None:
    if key not in _STRING_ATTRIBUTES + _NUMBER_ATTRIBUTES:
        accepted = ", ".join(_STRING_ATTRIBUTES + _NUMBER_ATTRIBUTES)
        raise InvalidRequestError(
            f"Unknown run attribute '{key}' in the filter; attributes are: {accepted} "
            "(metrics, params and tags need their prefix: metrics.<key>)",
            param="filter_string",
        )


def parse_filter(filter_string: str | None) -> list[Clause]:
    if filter_string is None or not filter_string.strip():
        return []
    if not isinstance(filter_string, str):
        raise InvalidRequestError("filter_string must be a string", param="filter_string")
    clauses = []
    for part in _SPLIT_AND.split(filter_string.strip()):
        match = _CLAUSE.match(part)
        if match is None:
            raise InvalidRequestError(
                f"Cannot parse the filter clause {part.strip()!r}: {FILTER_HELP}",
                param="filter_string",
            )
        entity, key = _split_ident(match["ident"])
        op = " ".join(match["op"].lower().split())
        raw = match["value"]
        is_string = raw[0] in "'\""
        numeric = entity == "metrics" or (entity == "attributes" and key in _NUMBER_ATTRIBUTES)
        if entity == "attributes":
            _check_attribute(key)
        if numeric:
            if is_string or op in ("like", "not like"):
                raise InvalidRequestError(
                    f"In {part.strip()!r}, {entity}.{key} is a number: compare it with "
                    "= != < <= > >= and an unquoted number",
                    param="filter_string",
                )
            try:
                value: Any = float(raw)
            except ValueError:
                raise InvalidRequestError(
                    f"{raw!r} is not a number in {part.strip()!r}", param="filter_string"
                ) from None
        else:
            if not is_string or op not in ("=", "==", "!=", "like", "not like"):
                raise InvalidRequestError(
                    f"In {part.strip()!r}, {entity}.{key} is a string: compare it with = != or "
                    "LIKE and a quoted value, e.g. = 'abc'",
                    param="filter_string",
                )
            value = _unquote(raw)
        clauses.append(Clause(entity, key, op, value))
    return clauses


def parse_order_by(order_by: Sequence[str] | str | None) -> list[tuple[str, str, bool]]:
    """``[(entity, key, descending)]``; the default is newest first."""
    if order_by is None:
        return [("attributes", "start_time", True)]
    if isinstance(order_by, str):
        order_by = [order_by]
    result = []
    for item in order_by:
        if not isinstance(item, str) or not item.strip():
            raise InvalidRequestError(
                f"Invalid order_by item {item!r}: use e.g. 'metrics.acc DESC' or 'start_time'",
                param="order_by",
            )
        words = item.strip().rsplit(None, 1)
        descending = False
        if len(words) == 2 and words[1].upper() in ("ASC", "DESC"):
            descending = words[1].upper() == "DESC"
            ident = words[0]
        else:
            ident = item.strip()
        entity, key = _split_ident(ident)
        if entity == "attributes":
            _check_attribute(key)
        result.append((entity, key, descending))
    return result


def page_token(offset: int) -> str:
    """The token of the page that starts at result ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def parse_page_token(token: str | None) -> int:
    """Where the page of ``token`` starts (None or "", as MLflow sends it: the first page)."""
    if token is None or token == "":
        return 0
    offset: Any = None
    if isinstance(token, str):
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
            offset = data.get("offset") if isinstance(data, dict) else None
        except ValueError:  # not base64, UTF-8 or JSON: reported below
            pass
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        shown = token[:60] + "…" if isinstance(token, str) and len(token) > 60 else token
        raise InvalidRequestError(
            f"Invalid page_token {shown!r}: pass the token of the previous page of the same "
            "search (its .token), or none for the first page",
            param="page_token",
        )
    return offset
