"""What each engine path costs: the demo model and a sliding-window model of the same size.

``python -m bench.engine_paths`` runs the generation engine in process (no HTTP) on

* the demo model (SmolLM2-135M, Llama architecture, full attention), and
* the same shapes as a Mistral with a sliding window (:data:`WINDOW` tokens, random weights:
  speed depends on the shapes, not on the values),

each on the packed, the padded and the serial path (``EngineConfig(path=...)``), with closed-loop
clients (1 and 8 by default) that each send chat prompts back to back, greedy, a fixed
``--max-new-tokens`` (EOS ignored, so every request generates the same number of tokens). Prints
output tok/s, the per-token time of the running batch, and the KV cache's peak bytes; the ratios
to packed at the end. Both paths run in one process, one after the other, on one machine.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

from bench.ceiling import _prompt_ids, load_demo

WINDOW = 64


def sliding_twin(model: Any) -> Any:
    """A random-weight Mistral with the demo model's shapes and a window of :data:`WINDOW`."""
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    c = model.config
    config = MistralConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden_size,
        intermediate_size=c.intermediate_size,
        num_hidden_layers=c.num_hidden_layers,
        num_attention_heads=c.num_attention_heads,
        num_key_value_heads=c.num_key_value_heads,
        head_dim=c.hidden_size // c.num_attention_heads,
        max_position_embeddings=c.max_position_embeddings,
        sliding_window=WINDOW,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    twin = MistralForCausalLM(config)
    twin.eval()
    return twin


def run(
    model: Any, tokenizer: Any, path: str, clients: int, requests: int, max_new_tokens: int
) -> dict[str, Any]:
    """``clients`` threads, each sending ``requests`` prompts one after the other."""
    from modelport.engine import EngineConfig, GenerationEngine, SamplingParams

    engine = GenerationEngine(model, tokenizer, EngineConfig(path=path), eos_token_ids=[])
    params = SamplingParams(max_new_tokens=max_new_tokens, temperature=0.0)
    gaps: list[float] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for r in range(requests):
            handle = engine.submit(_prompt_ids(tokenizer, index * requests + r), params)
            last = None
            for _ in handle:
                now = time.perf_counter()
                if last is not None:
                    with lock:
                        gaps.append(now - last)
                last = now

    try:
        for _ in engine.submit(_prompt_ids(tokenizer, 0), SamplingParams(max_new_tokens=4)):
            pass  # warm-up: the first pass of each shape is slower
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        stats = engine.stats()
    finally:
        engine.shutdown()
    return {
        "path": engine.path,
        "clients": clients,
        "tok_s": clients * requests * max_new_tokens / wall,
        "tpot_ms": 1000 * statistics.median(gaps),
        "kv_peak_mib": stats["kv_cache_peak_bytes"] / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--requests", type=int, default=2, help="per client")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument(
        "--paths",
        nargs="+",
        choices=["packed", "padded", "serial"],
        default=["packed", "padded", "serial"],
    )
    args = parser.parse_args()
    import torch

    demo, tokenizer = load_demo()
    models = {"demo (full attention)": demo, f"mistral twin (window {WINDOW})": sliding_twin(demo)}
    print(f"torch threads: {torch.get_num_threads()}; {args.max_new_tokens} new tokens a request")
    rows = []
    for name, model in models.items():
        for clients in args.clients:
            for path in args.paths:
                row = run(model, tokenizer, path, clients, args.requests, args.max_new_tokens)
                row["model"] = name
                rows.append(row)
                print(
                    f"{name:28s} {path:7s} clients={clients:<3d} {row['tok_s']:7.1f} tok/s  "
                    f"TPOT p50 {row['tpot_ms']:6.1f} ms  KV peak {row['kv_peak_mib']:6.1f} MiB",
                    flush=True,
                )
    if "packed" not in args.paths:
        return
    print("\nto packed (tok/s):")
    for name in models:
        for clients in args.clients:
            tok_s = {
                r["path"]: r["tok_s"]
                for r in rows
                if r["model"] == name and r["clients"] == clients
            }
            ratios = "  ".join(
                f"{p} {tok_s[p] / tok_s['packed']:.2f}" for p in args.paths if p != "packed"
            )
            print(f"  {name:28s} clients={clients:<3d} {ratios}")


if __name__ == "__main__":
    main()
