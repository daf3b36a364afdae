"""Naming and value rules: each bad input is rejected with the rule."""

from __future__ import annotations

import pytest

from modelport.errors import InvalidRequestError
from modelport.tracking import validation


@pytest.mark.parametrize(
    "name",
    ["", "   ", "a/b", "a\\b", "bot@prod", "x:y", ".", "..", "a\nb", " pad", "n" * 257, 42, None],
)
def test_bad_names_are_rejected_with_the_rule(name: object) -> None:
    with pytest.raises(InvalidRequestError, match="non-empty string of at most 256 characters"):
        validation.check_name(name, "registered model name")


@pytest.mark.parametrize("name", ["bot", "support-bot_v2.1", "Mon modèle", "n" * 256])
def test_good_names_pass(name: str) -> None:
    assert validation.check_name(name, "experiment name") == name


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "k" * 251, "semi;colon", 3])
def test_bad_keys_are_rejected_with_the_rule(key: object) -> None:
    with pytest.raises(InvalidRequestError, match="a key must be 1 to 250 characters"):
        validation.check_key(key, "metric key")


def test_keys_may_hold_slashes() -> None:
    assert validation.check_key("train/loss", "metric key") == "train/loss"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "finite numbers"),
        (float("inf"), "finite numbers"),
        ("0.5", "must be a finite number"),
        (True, "must be a finite number"),
        (None, "must be a finite number"),
    ],
)
def test_metric_values_must_be_finite_numbers(value: object, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        validation.check_metric_value("loss", value)


def test_integer_metric_values_become_floats() -> None:
    assert validation.check_metric_value("n", 3) == 3.0


@pytest.mark.parametrize("alias", ["", "latest", "LATEST", "v3", "3", "a b", "a/b", "x" * 256])
def test_bad_aliases_are_rejected_with_the_rule(alias: str) -> None:
    with pytest.raises(InvalidRequestError, match="may not be 'latest' or look like a version"):
        validation.check_alias(alias)


@pytest.mark.parametrize("version", [0, -1, "one", "1.5", 2.0, True])
def test_bad_versions_are_rejected(version: object) -> None:
    with pytest.raises(InvalidRequestError, match="whole number >= 1"):
        validation.check_version(version)


def test_versions_may_be_given_as_text() -> None:
    assert validation.check_version(" 12 ") == 12


def test_overly_long_values_are_rejected_with_the_limit() -> None:
    with pytest.raises(InvalidRequestError, match="6001 characters long; at most 6000"):
        validation.check_text("x" * 6001, "param 'p' value", validation.MAX_PARAM_VALUE_LENGTH)


def test_steps_must_be_integers() -> None:
    with pytest.raises(InvalidRequestError, match="step must be an integer"):
        validation.check_int(1.5, "step")
