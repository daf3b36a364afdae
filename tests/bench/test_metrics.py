from __future__ import annotations

import pytest
from bench.metrics import RequestRecord, percentile, summarize


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([5.0], 99) == 5.0
    assert percentile([], 50) is None


def test_tpot_excludes_the_first_token() -> None:
    record = RequestRecord(ok=True, latency=1.0, ttft=0.1, output_tokens=10)
    assert record.tpot == pytest.approx(0.1)
    assert RequestRecord(ok=True, latency=1.0, ttft=0.1, output_tokens=1).tpot is None


def test_summary_judges_fairness_on_full_length_requests_only() -> None:
    records = [RequestRecord(ok=True, latency=t, ttft=0.1, output_tokens=8) for t in (1, 1, 1, 3)]
    records.append(RequestRecord(ok=True, latency=9.0, ttft=0.1, output_tokens=2))
    records.append(RequestRecord(ok=False, latency=0.5, error="HTTP 429: busy"))
    summary = summarize(records, duration=2.0, concurrency=4, max_tokens=8)
    assert (summary["completed"], summary["failed"]) == (5, 1)
    assert summary["errors"] == ["HTTP 429: busy"]
    assert summary["full_length_requests"] == 4
    assert summary["full_length_p99_over_p50"] == pytest.approx(2.94)
    assert summary["output_tok_s"] == pytest.approx(17.0)
