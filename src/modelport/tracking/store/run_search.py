"""The ``search_runs`` language (:mod:`modelport.tracking.search`) as one SQL query.

The database filters, orders and cuts the page, so a search reads at most ``max_results`` runs
(and their params, metrics and tags) however large the experiment. The rules, the same on
SQLite and PostgreSQL:

- ``metrics.<key>``, ``params.<key>`` and ``tags.<key>`` are correlated subqueries, NULL for a
  run without the value; a metric's value is that of its latest point (highest step, then
  newest timestamp, then the last logged), as ``Run.data.metrics`` shows it.
- A comparison with NULL is never true, so a run without the value matches no clause about it
  (``!=`` included); ``NULLS LAST`` puts it last in either direction.
- Strings sort by code point (``COLLATE "C"`` on PostgreSQL; SQLite's default is binary).
- ``LIKE`` is case-sensitive with ``%`` as the one wildcard: GLOB on SQLite (whose LIKE ignores
  case), with ``*``, ``?`` and ``[`` bracketed; elsewhere LIKE with ``_`` and ``\\`` escaped.
- Ties are broken by run id, so that consecutive pages neither repeat nor skip a run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, UnaryExpression, literal, select

from modelport.tracking.search import Clause
from modelport.tracking.store.models import SqlMetric, SqlParam, SqlRun, SqlTag

COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
NUMBER_ATTRIBUTES = ("start_time", "end_time")


def value_of(entity: str, key: str) -> ColumnElement[Any]:
    """The value of ``<entity>.<key>`` for the run of the enclosing query (NULL if it has none)."""
    if entity == "metrics":
        return (
            select(SqlMetric.value)
            .where(SqlMetric.run_id == SqlRun.run_id, SqlMetric.key == key)
            .order_by(SqlMetric.step.desc(), SqlMetric.timestamp.desc(), SqlMetric.id.desc())
            .limit(1)
            .scalar_subquery()
        )
    if entity in ("params", "tags"):
        table = SqlParam if entity == "params" else SqlTag
        return (
            select(table.value)
            .where(table.run_id == SqlRun.run_id, table.key == key)
            .scalar_subquery()
        )
    column: ColumnElement[Any] = getattr(SqlRun, key)
    return column


def _is_number(entity: str, key: str) -> bool:
    return entity == "metrics" or (entity == "attributes" and key in NUMBER_ATTRIBUTES)


def glob_pattern(pattern: str) -> str:
    """A LIKE pattern of the language (``%`` the one wildcard) as an SQLite GLOB pattern."""
    return "".join("*" if c == "%" else f"[{c}]" if c in "*?[" else c for c in pattern)


def like_pattern(pattern: str) -> str:
    """A LIKE pattern of the language as SQL LIKE with ``ESCAPE '\\'`` (``_`` is literal)."""
    return "".join(f"\\{c}" if c in "\\_" else c for c in pattern)


def condition(clause: Clause, dialect: str) -> ColumnElement[bool]:
    """The WHERE condition of one clause."""
    value = value_of(clause.entity, clause.key)
    if clause.op in ("like", "not like"):
        if dialect == "sqlite":
            found = value.op("GLOB", is_comparison=True)(glob_pattern(clause.value))
        else:
            found = value.like(like_pattern(clause.value), escape="\\")
        return found if clause.op == "like" else ~found
    compared: Any = clause.value
    if _is_number(clause.entity, clause.key):
        compared = literal(clause.value, Float())  # start_time < 2000.5: a float, not a BIGINT
    result: ColumnElement[bool] = COMPARISONS[clause.op](value, compared)
    return result


def order_terms(order: Sequence[tuple[str, str, bool]], dialect: str) -> list[UnaryExpression[Any]]:
    """The ORDER BY of ``[(entity, key, descending)]``, missing values last, then the run id."""
    terms = []
    for entity, key, descending in order:
        value = value_of(entity, key)
        if dialect == "postgresql" and not _is_number(entity, key):
            value = value.collate("C")
        terms.append((value.desc() if descending else value.asc()).nulls_last())
    return [*terms, SqlRun.run_id.asc()]  # lowercase hex: the same order in every collation


def runs_query(
    experiment_ids: Sequence[int] | None,
    clauses: Sequence[Clause],
    order: Sequence[tuple[str, str, bool]],
    dialect: str,
) -> Select[SqlRun]:
    """The runs of ``experiment_ids`` (None: all) matching every clause, in ``order``."""
    query = select(SqlRun)
    if experiment_ids is not None:
        query = query.where(SqlRun.experiment_id.in_(experiment_ids))
    for clause in clauses:
        query = query.where(condition(clause, dialect))
    return query.order_by(*order_terms(order, dialect))
