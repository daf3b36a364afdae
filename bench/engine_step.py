"""What a decode step of the engine costs against the model's own forward pass, in process.

``python -m bench.engine_step [--rows 16] [--steps 48] [--repeats 3] [--dtype float32]``

On the demo model, alternating, each on a thread of its own that ends with it (so that only one
OpenMP pool is alive at a time, as in the server): the bare forward loop of
:func:`bench.ceiling.forward_loop` (``rows`` rows, KV cache, argmax) and the engine with
``rows`` requests submitted at once (greedy, EOS ignored, ``steps`` new tokens each). For the
engine it reports the median time of its steps in which all ``rows`` rows decode and no prompt
joins — the whole step (layout, forward pass, sampling, text, stop strings, events) and the
forward pass alone (``runner.forward``) — and their ratio to the bare forward step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.ceiling import _prompt_ids, forward_loop, load_demo
from modelport.engine.threads import on_passing_thread


def engine_steps(model: Any, tokenizer: Any, rows: int, steps: int) -> dict[str, float]:
    """Median ms of the engine's full-batch decode steps, whole and forward pass alone."""
    import torch

    from modelport.engine import EngineConfig, GenerationEngine, SamplingParams

    engine = GenerationEngine(
        model,
        tokenizer,
        EngineConfig(max_batch_size=max(rows, 1), num_threads=torch.get_num_threads()),
        eos_token_ids=[],
    )
    whole: list[float] = []
    forward: list[float] = []
    step, run = engine._step, engine.runner.forward

    def timed_step(admitted: list[Any]) -> None:
        started = time.perf_counter()
        step(admitted)
        if not admitted and len(engine._rows) == rows:
            whole.append(time.perf_counter() - started)

    def timed_forward(plan: Any, tokens: list[int], positions: list[int]) -> Any:
        started = time.perf_counter()
        out = run(plan, tokens, positions)
        if not plan.joiners and plan.rows == rows:
            forward.append(time.perf_counter() - started)
        return out

    engine._step = timed_step  # type: ignore[method-assign]
    engine.runner.forward = timed_forward  # type: ignore[method-assign]
    try:
        params = SamplingParams(max_new_tokens=steps, temperature=0.0)
        handles = [engine.submit(_prompt_ids(tokenizer, i), params) for i in range(rows)]
        for handle in handles:
            for _ in handle:
                pass
    finally:
        engine.shutdown()
    return {
        "step_ms": statistics.median(whole) * 1000,
        "forward_ms": statistics.median(forward) * 1000,
        "steps_timed": len(whole),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_step", description=__doc__)
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--steps", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--dtype", default=None, help="default: what dtype='auto' picks here")
    parser.add_argument("--out", type=Path, default=Path("bench-results/engine_step.json"))
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []

    def fresh(function: Any) -> Any:
        import torch

        def run() -> Any:
            torch.set_num_threads(args.threads or os.cpu_count() or 1)
            return function()

        return on_passing_thread(run, "engine-step")

    model, tokenizer = fresh(lambda: load_demo(args.dtype))
    fresh(lambda: forward_loop(model, tokenizer, 2, 4))  # warm-up
    for repeat in range(args.repeats):
        bare = fresh(lambda: forward_loop(model, tokenizer, args.rows, args.steps))["step_ms"]
        engine = fresh(lambda: engine_steps(model, tokenizer, args.rows, args.steps))
        row = {"repeat": repeat, "bare_forward_ms": bare, **engine}
        row["step_over_bare"] = engine["step_ms"] / bare
        row["forward_over_bare"] = engine["forward_ms"] / bare
        row["dtype"] = str(model.dtype).removeprefix("torch.")
        results.append(row)
        print(
            f"{row['dtype']} rows={args.rows} bare forward {bare:.1f} ms | engine step "
            f"{engine['step_ms']:.1f} ms ({row['step_over_bare']:.2f}x), its forward "
            f"{engine['forward_ms']:.1f} ms ({row['forward_over_bare']:.2f}x)",
            flush=True,
        )
    ratios = [row["step_over_bare"] for row in results]
    print(f"median step / bare forward: {statistics.median(ratios):.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
