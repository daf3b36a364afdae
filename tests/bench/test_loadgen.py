from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bench.loadgen import LoadSpec, format_row, main, run_load


def test_streaming_run_measures_every_request(counting_server: str) -> None:
    spec = LoadSpec(counting_server, "counting", concurrency=4, requests=10, max_tokens=6)
    summary = asyncio.run(run_load(spec))
    assert (summary["completed"], summary["failed"]) == (10, 0)
    assert summary["output_tokens"] == 60
    assert summary["full_length_requests"] == 10
    ttft, e2e, itl = summary["ttft_ms"], summary["e2e_ms"], summary["itl_ms"]
    assert 0 < ttft["p50"] < e2e["p50"]
    assert itl["p50"] > 0
    assert summary["tpot_ms"]["p50"] > 0
    assert e2e["p50"] <= e2e["p90"] <= e2e["p99"]
    assert summary["output_tok_s"] > 0
    assert summary["request_throughput"] > 0
    assert "c=4" in format_row("server", summary)


def test_non_streaming_run_counts_tokens_from_usage(counting_server: str) -> None:
    spec = LoadSpec(
        counting_server, "counting", concurrency=2, requests=4, max_tokens=5, stream=False
    )
    summary = asyncio.run(run_load(spec))
    assert summary["completed"] == 4
    assert summary["output_tokens"] == 20
    assert summary["itl_ms"]["p50"] is None


def test_failures_are_counted_with_the_servers_message(counting_server: str) -> None:
    spec = LoadSpec(counting_server, "counting", concurrency=2, requests=3, max_tokens=-5)
    summary = asyncio.run(run_load(spec))
    assert (summary["completed"], summary["failed"]) == (0, 3)
    assert any("400" in error and "max_tokens" in error for error in summary["errors"])


def test_time_limit_stops_sending(counting_server: str) -> None:
    spec = LoadSpec(counting_server, "counting", concurrency=1, requests=1000, time_limit=0.3)
    summary = asyncio.run(run_load(spec))
    assert 0 < summary["requests"] < 1000
    assert summary["failed"] == 0


def test_command_line_writes_json_and_plot(counting_server: str, tmp_path: Path) -> None:
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    code = main(
        [
            "--url",
            counting_server,
            "--model",
            "counting",
            "-c",
            "1",
            "2",
            "--requests",
            "3",
            "--max-tokens",
            "4",
            "--out",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    levels = json.loads(out.read_text())["runs"]["server"]
    assert [level["concurrency"] for level in levels] == [1, 2]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
