"""Cooperative cancellation tokens, without a server."""

from __future__ import annotations

import threading

import pytest

from modelport.cancellation import CancelToken, bind_token, current_token


def test_callbacks_run_once_when_cancelled() -> None:
    token = CancelToken()
    calls: list[str] = []
    token.add_callback(lambda: calls.append("a"))
    assert not token.cancelled and calls == []
    token.cancel()
    token.cancel()
    assert token.cancelled and calls == ["a"]
    token.add_callback(lambda: calls.append("late"))  # already cancelled: runs at once
    assert calls == ["a", "late"]


def test_a_failing_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    token = CancelToken()
    calls: list[str] = []
    token.add_callback(lambda: 1 / 0)
    token.add_callback(lambda: calls.append("b"))
    token.cancel()
    assert calls == ["b"]
    assert "ZeroDivisionError" in caplog.text


def test_the_current_token_is_bound_per_context() -> None:
    assert current_token() is None
    token = CancelToken()
    seen: list[object] = []
    with bind_token(token):
        assert current_token() is token
        thread = threading.Thread(target=lambda: seen.append(current_token()))
        thread.start()
        thread.join()
    assert current_token() is None
    assert seen == [None]  # a plain thread does not inherit it (the server copies the context)
