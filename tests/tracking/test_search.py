"""The filter and order_by language of search_runs."""

from __future__ import annotations

import base64

import pytest

from modelport.errors import InvalidRequestError
from modelport.tracking.search import (
    Clause,
    page_token,
    parse_filter,
    parse_order_by,
    parse_page_token,
)


def test_clauses_are_parsed_per_entity() -> None:
    assert parse_filter(
        "metrics.acc >= 0.9 AND params.`learning rate` = '0.01' and tag.team != \"x\" "
        "and status = 'FINISHED' and attributes.run_name LIKE 'exp-%'"
    ) == [
        Clause("metrics", "acc", ">=", 0.9),
        Clause("params", "learning rate", "=", "0.01"),
        Clause("tags", "team", "!=", "x"),
        Clause("attributes", "status", "=", "FINISHED"),
        Clause("attributes", "run_name", "like", "exp-%"),
    ]


def test_an_empty_filter_matches_everything() -> None:
    assert parse_filter(None) == [] and parse_filter("  ") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.acc > 'high'", "is a number"),
        ("params.lr > '0.1'", "is a string"),
        ("params.lr = 0.1", "is a string"),
        ("colour = 'red'", "Unknown run attribute 'colour'"),
        ("metrics.acc >", "Cannot parse the filter clause"),
        ("metrics.acc > 1 or metrics.acc < 0", "Cannot parse"),
    ],
)
def test_bad_filters_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_filter(text)


def test_order_by_defaults_to_newest_first() -> None:
    assert parse_order_by(None) == [("attributes", "start_time", True)]
    assert parse_order_by(["metrics.acc DESC", "run_name"]) == [
        ("metrics", "acc", True),
        ("attributes", "run_name", False),
    ]
    with pytest.raises(InvalidRequestError, match="Unknown run attribute 'speed'"):
        parse_order_by("speed DESC")


def test_a_page_token_stands_for_where_the_next_page_starts() -> None:
    assert parse_page_token(page_token(300)) == 300
    assert parse_page_token(None) == parse_page_token("") == 0


@pytest.mark.parametrize(
    "token",
    [
        "nope",
        "!!!",
        base64.urlsafe_b64encode(b'{"offset": -1}').decode(),
        base64.urlsafe_b64encode(b'{"offset": "3"}').decode(),
        base64.urlsafe_b64encode(b"[3]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        3,
    ],
)
def test_a_token_that_no_search_gave_is_refused(token: object) -> None:
    with pytest.raises(InvalidRequestError, match="Invalid page_token") as caught:
        parse_page_token(token)  # type: ignore[arg-type]
    assert caught.value.param == "page_token"
