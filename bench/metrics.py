"""Per-request records and the summary of a run, as vLLM's serving benchmark reports them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

PERCENTILES = (50, 90, 99)


@dataclass
class RequestRecord:
    """What one request did; times in seconds from the moment it was sent."""

    ok: bool
    latency: float = 0.0  # end to end
    ttft: float | None = None  # first content token (streaming), else the whole response
    output_tokens: int = 0
    prompt_tokens: int = 0
    finish_reason: str | None = None
    itl: list[float] = field(default_factory=list)  # gaps between content chunks
    error: str | None = None

    @property
    def tpot(self) -> float | None:
        """Time per output token after the first."""
        if self.ttft is None or self.output_tokens < 2:
            return None
        return (self.latency - self.ttft) / (self.output_tokens - 1)


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (``None`` for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def distribution(values: list[float]) -> dict[str, float | None]:
    """Mean and p50/p90/p99 of ``values``, in milliseconds."""
    out: dict[str, float | None] = {"mean": (sum(values) / len(values) * 1000) if values else None}
    for p in PERCENTILES:
        value = percentile(values, p)
        out[f"p{p}"] = None if value is None else value * 1000
    return out


def summarize(
    records: list[RequestRecord], *, duration: float, concurrency: int, max_tokens: int
) -> dict[str, Any]:
    """The figures of one concurrency level."""
    done = [r for r in records if r.ok]
    failed = [r for r in records if not r.ok]
    output = sum(r.output_tokens for r in done)
    full_length = [r.latency for r in done if r.output_tokens >= max_tokens]
    p50, p99 = percentile(full_length, 50), percentile(full_length, 99)
    return {
        "concurrency": concurrency,
        "requests": len(records),
        "completed": len(done),
        "failed": len(failed),
        "errors": sorted({r.error or "unknown" for r in failed})[:5],
        "duration_s": duration,
        "request_throughput": len(done) / duration if duration else 0.0,
        "output_tokens": output,
        "output_tok_s": output / duration if duration else 0.0,
        "mean_output_tokens": output / len(done) if done else 0.0,
        "ttft_ms": distribution([r.ttft for r in done if r.ttft is not None]),
        "tpot_ms": distribution([t for r in done if (t := r.tpot) is not None]),
        "itl_ms": distribution([gap for r in done for gap in r.itl]),
        "e2e_ms": distribution([r.latency for r in done]),
        # Fairness is judged on equal-length requests: those that ran to max_tokens.
        "full_length_requests": len(full_length),
        "full_length_p99_over_p50": (p99 / p50) if p50 and p99 else None,
    }


def record_to_dict(record: RequestRecord) -> dict[str, Any]:
    return asdict(record)
