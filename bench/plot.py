"""A PNG of throughput and latency against concurrency, one line per configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(results: dict[str, Any], path: Path) -> Path:
    """Draw ``results["runs"]`` (label → list of level summaries) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (tput, latency) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, levels in results["runs"].items():
        xs = [level["concurrency"] for level in levels]
        tput.plot(xs, [level["output_tok_s"] for level in levels], marker="o", label=label)
        e2e = [level.get("e2e_ms", {}) for level in levels]
        if any(e.get("p50") for e in e2e):
            latency.plot(xs, [e.get("p50") for e in e2e], marker="o", label=f"{label} E2E p50")
            latency.plot(
                xs,
                [e.get("p99") for e in e2e],
                marker="x",
                linestyle="--",
                label=f"{label} E2E p99",
            )
        ttft = [level.get("ttft_ms", {}).get("p50") for level in levels]
        if any(ttft) and label != "static-batch generate":
            latency.plot(xs, ttft, marker=".", linestyle=":", label=f"{label} TTFT p50")
    for axis in (tput, latency):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("concurrent clients")
        axis.grid(True, alpha=0.3)
    tput.set_ylabel("output tokens / s (all clients)")
    tput.set_title("Throughput")
    latency.set_ylabel("ms")
    latency.set_yscale("log")
    latency.set_title("Latency")
    tput.legend(fontsize=8)
    latency.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
