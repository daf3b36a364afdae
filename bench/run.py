"""The serving benchmark in one go (``scripts/bench``).

On the demo model, at each concurrency level (1, 4, 16, 32 by default; max_tokens 64,
temperature 0, streaming): the server with batching off, the server with batching on, and in
process the static-batch ``generate`` ceiling and the bare forward-pass ceiling, all in the dtype
``dtype="auto"`` picks on this machine (``--dtype`` sets another). Prints the CPU and its bf16
features, the table, the ratios and the targets;
writes ``results.json`` and ``results.png`` to the output folder. ``--soak SECONDS`` instead runs
the batching server at 32 clients for that long and reports its RSS at the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench.loadgen import LoadSpec, format_row, run_load
from bench.plot import plot
from bench.server import ServerProcess, load_average

OFF, ON, CEILING = "batching off", "batching on", "static-batch generate"
FORWARD = "forward ceiling"
# Requests per level, chosen so that one full run stays around ten minutes on 2 cores: the
# batching-off server's throughput does not depend on concurrency, so fewer requests suffice.
# The batching server gets 6 (16 clients) and 4 (32 clients) per client, so that the start (all
# clients arriving at once) and the drain (the last requests finishing while none arrive) weigh
# less against the steady state that the level measures.
REQUESTS = {OFF: {1: 4, 4: 4, 16: 16, 32: 32}, ON: {1: 6, 4: 16, 16: 96, 32: 128}}


def _say(text: str) -> None:
    print(text, flush=True)


def _requests(label: str, level: int, quick: bool) -> int:
    count = REQUESTS[label].get(level, max(8, 2 * level))
    return max(level, count // 2) if quick else count


def serve_levels(
    uri: str, label: str, flags: tuple[str, ...], levels: list[int], args: argparse.Namespace
) -> list[dict[str, Any]]:
    results = []
    with ServerProcess(
        uri, flags=flags, log=args.out / f"server-{label.replace(' ', '-')}.log"
    ) as server:
        started = time.perf_counter()
        server.wait_ready()
        _say(f"[{label}] server ready in {time.perf_counter() - started:.1f}s at {server.url}")
        warm = LoadSpec(server.url, server.name, concurrency=2, requests=2, max_tokens=8)
        asyncio.run(run_load(warm))
        for level in levels:
            spec = LoadSpec(
                server.url,
                server.name,
                concurrency=level,
                requests=_requests(label, level, args.quick),
                max_tokens=args.max_tokens,
                temperature=0.0,
                stream=True,
            )
            load_before = load_average()
            summary = asyncio.run(run_load(spec))
            summary["load_average"] = [load_before, load_average()]
            summary["server_rss_bytes"] = server.rss_bytes()[0]
            _say(format_row(label, summary))
            results.append(summary)
    return results


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _by_level(levels: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {level["concurrency"]: level for level in levels}


def targets(
    runs: dict[str, list[dict[str, Any]]], *, native_bf16: bool = False
) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured value and met / not met."""
    off, on, top, bare = (_by_level(runs.get(k, [])) for k in (OFF, ON, CEILING, FORWARD))
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, goal: str, ok: bool | None) -> None:
        checks.append({"target": name, "value": value, "goal": goal, "met": ok})

    def tok(table: dict[int, dict[str, Any]], level: int) -> float | None:
        return table[level]["output_tok_s"] if level in table else None

    vs_off = _ratio(tok(on, 16), tok(off, 16))
    check(
        "16 clients: batching on / batching off", vs_off, ">= 6", vs_off is not None and vs_off >= 6
    )
    vs_top = _ratio(tok(on, 16), tok(top, 16))
    check(
        "16 clients: batching on / static batch",
        vs_top,
        ">= 0.9",
        vs_top is not None and vs_top >= 0.9,
    )
    vs_bare = _ratio(tok(on, 16), tok(bare, 16))
    check(
        "16 clients: batching on / forward ceiling",
        vs_bare,
        ">= 0.9",
        vs_bare is not None and vs_bare >= 0.9,
    )
    if native_bf16:
        for level, goal in ((16, 250), (32, 400)):
            value = tok(on, level)
            check(
                f"{level} clients, native bf16: output tok/s",
                value,
                f">= {goal}",
                value is not None and value >= goal,
            )
    scale = _ratio(tok(on, 32), tok(on, 16))
    check("batching on: 32 clients / 16 clients", scale, "> 1", scale is not None and scale > 1)
    ttft = on[1]["ttft_ms"]["p50"] if 1 in on else None
    check("1 client: TTFT p50 (ms)", ttft, "<= 100", ttft is not None and ttft <= 100)
    tpot = on[1]["tpot_ms"]["p50"] if 1 in on else None
    server_decode = 1000 / tpot if tpot else None
    plain_decode = top[1].get("decode_tok_s") if 1 in top else None
    decode = _ratio(server_decode, plain_decode)
    check(
        "1 client: decode speed / model.generate",
        decode,
        ">= 0.9",
        decode is not None and decode >= 0.9,
    )
    fair = on[16]["full_length_p99_over_p50"] if 16 in on else None
    check(
        "16 clients: E2E p99 / p50 (full-length requests)",
        fair,
        "<= 3",
        fair is not None and fair <= 3,
    )
    return checks


def print_report(runs: dict[str, list[dict[str, Any]]], checks: list[dict[str, Any]]) -> None:
    levels = sorted({level["concurrency"] for rows in runs.values() for level in rows})
    _say("\noutput tok/s (all clients together)")
    _say(
        f"{'clients':>8} | "
        + " | ".join(f"{label:>22}" for label in runs)
        + " | on/off | on/static | on/forward"
    )
    for c in levels:
        cells = []
        for label in runs:
            row = _by_level(runs[label]).get(c)
            cells.append(f"{row['output_tok_s']:>22.1f}" if row else f"{'-':>22}")
        on_off = _ratio(
            *(_by_level(runs.get(k, [])).get(c, {}).get("output_tok_s") for k in (ON, OFF))
        )
        on_top = _ratio(
            *(_by_level(runs.get(k, [])).get(c, {}).get("output_tok_s") for k in (ON, CEILING))
        )
        on_bare = _ratio(
            *(_by_level(runs.get(k, [])).get(c, {}).get("output_tok_s") for k in (ON, FORWARD))
        )
        _say(
            f"{c:>8} | " + " | ".join(cells)
            + f" | {on_off or 0:>6.2f} | {on_top or 0:>9.2f} | {on_bare or 0:>10.2f}"
        )  # fmt: skip
    _say("\ntargets")
    for item in checks:
        value = "n/a" if item["value"] is None else f"{item['value']:.2f}"
        _say(
            f"  {'MET    ' if item['met'] else 'NOT MET'}  {item['target']}: {value} (goal {item['goal']})"
        )


def soak(uri: str, args: argparse.Namespace) -> dict[str, Any]:
    """32 clients against the batching server for ``args.soak`` seconds; RSS over time."""
    samples: list[tuple[float, int]] = []
    with ServerProcess(uri, flags=args.server_flags, log=args.out / "server-soak.log") as server:
        server.wait_ready()
        asyncio.run(
            run_load(
                LoadSpec(
                    server.url, server.name, concurrency=32, requests=32, max_tokens=args.max_tokens
                )
            )
        )
        start_rss = server.rss_bytes()[0]
        _say(
            f"[soak] warmed up; RSS {start_rss / 2**20:.0f} MiB; running {args.soak:.0f}s at 32 clients"
        )
        stop = threading.Event()
        began = time.perf_counter()

        def sample() -> None:
            while not stop.wait(5.0):
                samples.append((time.perf_counter() - began, server.rss_bytes()[0]))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        spec = LoadSpec(server.url, server.name, concurrency=32, requests=10**9,
                        max_tokens=args.max_tokens, time_limit=args.soak)  # fmt: skip
        summary = asyncio.run(run_load(spec))
        stop.set()
        sampler.join()
        end_rss, peak_rss = server.rss_bytes()
    first_minute = [rss for t, rss in samples if t <= 60] or [start_rss]
    result = {
        "seconds": args.soak,
        "summary": summary,
        "rss_start_bytes": start_rss,
        "rss_peak_first_minute_bytes": max(first_minute),
        "rss_end_bytes": end_rss,
        "rss_peak_bytes": peak_rss,
        "rss_samples": samples,
    }
    _say(format_row("soak", summary))
    _say(
        f"[soak] RSS start {start_rss / 2**20:.0f} MiB, peak in the first minute "
        f"{max(first_minute) / 2**20:.0f} MiB, end {end_rss / 2**20:.0f} MiB, "
        f"peak {peak_rss / 2**20:.0f} MiB"
    )
    return result


def _in_process(
    label: str, measure: Any, args: argparse.Namespace, dtype: str
) -> list[dict[str, Any]]:
    """One of the in-process ceilings at every level, each level's figure printed. It runs on
    a thread that ends with it, so that its OpenMP pool does not slow the next one
    (docs/engine.md, "One OpenMP pool")."""
    from modelport.engine.threads import on_passing_thread

    _say(f"[{label}] in process")
    rows: list[dict[str, Any]] = on_passing_thread(
        partial(measure, args.concurrency, args.max_tokens, dtype), label
    )
    for row in rows:
        step = f" step {row['step_ms']:.1f} ms" if "step_ms" in row else ""
        _say(
            f"{label:<14} c={row['concurrency']:<3} tok/s={row['output_tok_s']:.1f}{step} "
            f"by threads {row['tok_s_by_threads']}"
        )
    return rows


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="output folder")
    parser.add_argument("--model", default=None, help="model URI (default: the demo model)")
    parser.add_argument("--quick", action="store_true", help="half the requests per level")
    parser.add_argument(
        "--only", choices=["off", "on", "ceiling", "forward"], nargs="+", default=None
    )
    parser.add_argument(
        "--dtype", default=None, help="the servers' and ceilings' dtype (default: auto's choice)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads for the servers and the ceiling"
    )
    parser.add_argument("--soak", type=float, default=None, metavar="SECONDS",
                        help="instead: soak the batching server at 32 clients (e.g. 300)")  # fmt: skip
    args = parser.parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so that the servers started here are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be at least 1")
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the server subprocesses inherit it
    if args.model is None:
        from modelport.demo import build_demo_package

        args.model = str(build_demo_package())
    from modelport.flavors.transformers.dtypes import choose_dtype, cpu_bf16_features

    features = cpu_bf16_features()
    dtype = choose_dtype(args.dtype, "cpu")
    args.server_flags = ("--dtype", dtype.name)
    _say(
        f"CPU: {_cpu_name()}; native bf16: {', '.join(features) or 'none'}; "
        f"dtype {dtype.name} ({dtype.reason})"
    )
    meta = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "cpu": _cpu_name(),
        "cpu_bf16": features,
        "dtype": dtype.name,
        "load_average_at_start": load_average(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "max_tokens": args.max_tokens,
    }
    if args.soak:
        result = {"meta": meta, "soak": soak(args.model, args)}
        (args.out / "soak.json").write_text(json.dumps(result, indent=2))
        return 0
    only = set(args.only or ["off", "on", "ceiling", "forward"])
    runs: dict[str, list[dict[str, Any]]] = {}
    flags = args.server_flags
    if "off" in only:
        runs[OFF] = serve_levels(args.model, OFF, ("--no-batching", *flags), args.concurrency, args)
    if "on" in only:
        runs[ON] = serve_levels(args.model, ON, flags, args.concurrency, args)
    if "ceiling" in only:
        from bench.ceiling import ceiling

        runs[CEILING] = _in_process(CEILING, ceiling, args, dtype.name)
    if "forward" in only:
        from bench.ceiling import forward_ceiling

        runs[FORWARD] = _in_process(FORWARD, forward_ceiling, args, dtype.name)
    checks = targets(runs, native_bf16=bool(features) and dtype.name == "bfloat16")
    print_report(runs, checks)
    meta["load_average_at_end"] = load_average()
    results = {"meta": meta, "runs": runs, "targets": checks}
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, args.out / "results.png")
    _say(f"\nwrote {args.out / 'results.json'} and {args.out / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
