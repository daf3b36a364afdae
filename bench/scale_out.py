"""Sizing figures for serving on Ray: one ``modelport serve`` process beside ``serve --ray`` with
one and with two replicas of the same model, in one run on one machine.

For each: the time from the command's start to its first healthy answer, the resident memory of
each model replica, of the ingress and of Ray's own processes, and output tok/s, TTFT and TPOT at
each client count (closed loop, greedy, streaming).

    .venv/bin/python -m bench.scale_out            # the demo model, 1 and 16 clients
    .venv/bin/python -m bench.scale_out -c 1 4 16 --model /path/to/package

On a machine with few cores, replicas share them: Ray gives each replica ``--replica-cpus``
CPUs and as many torch threads, so two replicas of 1 CPU on 2 cores split the same cores that
one process (or one replica of 2 CPUs) uses alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from bench.loadgen import LoadSpec, format_row, run_load
from bench.server import ServerProcess, rss_bytes

# label → the flags of `modelport serve` (beside -m demo=URI --port P)
LAYOUTS: dict[str, tuple[str, ...]] = {
    "one process": (),
    "ray, 1 replica x 2 CPUs": ("--ray", "--replicas", "1", "--replica-cpus", "2"),
    "ray, 2 replicas x 1 CPU": ("--ray", "--replicas", "2", "--replica-cpus", "1"),
}
MiB = 1024 * 1024


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _rss(pid: int) -> int:
    try:
        return rss_bytes(pid)[0]
    except OSError:  # the process ended meanwhile
        return 0


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def memory(root: int) -> dict[str, Any]:
    """RSS of the command and every process under it, grouped: model replicas (each), the
    ingress, and everything else (the command itself, Ray's GCS, raylet, proxy, controller)."""
    tree, stack, pids = _children(), [root], []
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(tree.get(pid, []))
    replicas, ingress, rest = [], 0, 0
    for pid in pids:
        title, rss = _title(pid), _rss(pid)
        if "ServeReplica" in title and ":model-" in title:
            replicas.append(rss)
        elif "ServeReplica" in title and ":ingress" in title:
            ingress += rss
        else:
            rest += rss
    total = sum(replicas) + ingress + rest
    return {"replicas": sorted(replicas), "ingress": ingress, "other": rest, "total": total}


def measure(
    uri: str, label: str, flags: tuple[str, ...], args: argparse.Namespace
) -> dict[str, Any]:
    log = args.out / f"server-{label.replace(' ', '-').replace(',', '')}.log"
    started = time.perf_counter()
    with ServerProcess(uri, flags=flags, log=log) as server:
        server.wait_ready(timeout=600)
        ready_s = time.perf_counter() - started
        asyncio.run(run_load(LoadSpec(server.url, server.name, concurrency=2, requests=4,
                                      max_tokens=8)))  # fmt: skip
        memory_idle = memory(server.process.pid)
        print(f"[{label}] ready in {ready_s:.1f}s; RSS {memory_idle['total'] / MiB:.0f} MiB",
              flush=True)  # fmt: skip
        levels = []
        for level in args.concurrency:
            spec = LoadSpec(server.url, server.name, concurrency=level,
                            requests=max(8, 2 * level), max_tokens=args.max_tokens,
                            stream=args.stream)  # fmt: skip
            summary = asyncio.run(run_load(spec))
            summary.pop("records", None)
            print(format_row(label[:14], summary), flush=True)
            levels.append(summary)
        return {
            "label": label,
            "flags": list(flags),
            "ready_s": ready_s,
            "memory": memory_idle,
            "memory_after_load": memory(server.process.pid),
            "levels": levels,
        }


def report(results: list[dict[str, Any]], levels: list[int]) -> str:
    head = ["layout", "ready (s)", "RSS per replica (MiB)", "ingress + Ray (MiB)", "total (MiB)"]
    head += [f"tok/s c={c}" for c in levels] + [f"TPOT p50 c={levels[-1]} (ms)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for result in results:
        mem = result["memory"]
        per_replica = ", ".join(f"{r / MiB:.0f}" for r in mem["replicas"]) or "-"
        if not mem["replicas"]:  # one process: the model lives in the command itself
            per_replica = f"{mem['total'] / MiB:.0f}"
        overhead = (mem["ingress"] + mem["other"]) / MiB if mem["replicas"] else 0
        by_level = {s["concurrency"]: s for s in result["levels"]}
        cells = [result["label"], f"{result['ready_s']:.1f}", per_replica, f"{overhead:.0f}",
                 f"{mem['total'] / MiB:.0f}"]  # fmt: skip
        cells += [f"{by_level[c]['output_tok_s']:.1f}" for c in levels]
        tpot = by_level[levels[-1]]["tpot_ms"]["p50"]
        cells.append("-" if tpot is None else f"{tpot:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__)
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", default=None, help="model URI (default: the demo model)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/scale-out"))
    parser.add_argument("--only", choices=list(LAYOUTS), nargs="+", default=list(LAYOUTS))
    parser.add_argument("--no-stream", dest="stream", action="store_false",
                        help="whole answers instead of SSE streams")  # fmt: skip
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if args.model is None:
        from modelport.demo import build_demo_package

        args.model = str(build_demo_package())
    results = [measure(args.model, label, LAYOUTS[label], args) for label in args.only]
    table = report(results, args.concurrency)
    how = "streaming" if args.stream else "not streamed"
    print(f"\n{os.cpu_count()} CPUs; {args.max_tokens} new tokens, greedy, {how}\n\n{table}")
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    (args.out / "results.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
