"""The small run search language of ``search_runs``.

A filter is clauses joined by ``and``::

    metrics.accuracy > 0.9 and params.lr = '0.01' and tags.team = 'nlp' and status = 'FINISHED'

- ``metrics.<key>`` compares numbers (``= != < <= > >=``) with the run's latest value;
- ``params.<key>`` and ``tags.<key>`` compare strings in quotes (``=`` ``!=``, ``LIKE`` with ``%``);
- attributes (optionally prefixed ``attributes.``): ``status``, ``run_name``, ``run_id`` (strings),
  ``start_time``, ``end_time`` (numbers, ms). Keys with spaces go in backticks.

``order_by`` takes items like ``"metrics.accuracy DESC"`` or ``"start_time"`` (ASC by default);
runs missing the value sort last. The default order is newest first.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidRequestError
from modelport.tracking.entities import Run

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
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
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
    entity: str
    key: str
    op: str
    value: Any

    def matches(self, run: Run) -> bool:
        actual = lookup(run, self.entity, self.key)
        if actual is None:
            return False
        if self.op in ("like", "not like"):
            pattern = "^" + ".*".join(re.escape(p) for p in str(self.value).split("%")) + "$"
            found = re.match(pattern, str(actual), re.DOTALL) is not None
            return found if self.op == "like" else not found
        return bool(_OPS[self.op](actual, self.value))


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


def lookup(run: Run, entity: str, key: str) -> Any:
    if entity == "metrics":
        return run.data.metrics.get(key)
    if entity == "params":
        return run.data.params.get(key)
    if entity == "tags":
        return run.data.tags.get(key)
    return getattr(run.info, key, None)


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


def sort_runs(runs: list[Run], order: list[tuple[str, str, bool]]) -> list[Run]:
    ordered = list(runs)
    # Stable sorts applied from the last key to the first; missing values always go last.
    for entity, key, descending in reversed(order):
        present = [r for r in ordered if lookup(r, entity, key) is not None]
        missing = [r for r in ordered if lookup(r, entity, key) is None]
        present.sort(key=lambda r: lookup(r, entity, key), reverse=descending)
        ordered = present + missing
    return ordered
