"""In-process reference figures on the same model, in the dtype the server loads it in.

* batch 1: ``generate`` on one prompt at a time (the single-user reference, and its decode
  speed with the prefill taken out);
* batch c: one ``generate`` call over c prompts, left-padded — the static-batch ceiling that a
  server batching c concurrent clients is compared with. Tokens after a row's EOS are padding and
  are not counted (a server stops those rows too).
* the forward ceiling (:func:`forward_loop`): c rows decoded by the model's own forward pass
  with a KV cache and an argmax, nothing else — no scheduling, sampling or text. ``rows / median
  step time`` is the most a server can stream at c clients once every row is decoding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.prompts import messages


def load_demo(dtype: str | None = None) -> tuple[Any, Any]:
    """The demo model as a plain transformers model and tokenizer (eval mode), in ``dtype``
    (None: what ``dtype="auto"`` picks on this machine, as the server does)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from modelport.demo import demo_hf_folder
    from modelport.flavors.transformers.dtypes import choose_dtype

    folder = demo_hf_folder()
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=choose_dtype(dtype, "cpu").torch_dtype
    )
    model.eval()
    return model, AutoTokenizer.from_pretrained(folder)


def _prompt_ids(tokenizer: Any, index: int) -> list[int]:
    ids = tokenizer.apply_chat_template(
        messages(index), add_generation_prompt=True, tokenize=True, return_dict=False
    )
    return list(ids)


def _eos_ids(model: Any) -> set[int]:
    eos = model.generation_config.eos_token_id
    return set(eos if isinstance(eos, list) else [eos])


def _count_until_eos(rows: list[list[int]], eos: set[int]) -> int:
    total = 0
    for row in rows:
        for token in row:
            if token in eos:
                break
            total += 1
    return total


def static_batch(model: Any, tokenizer: Any, batch: int, max_new_tokens: int) -> dict[str, Any]:
    """One ``generate`` call over ``batch`` prompts; output tok/s of wall time."""
    import torch

    prompts = [_prompt_ids(tokenizer, i) for i in range(batch)]
    width = max(len(p) for p in prompts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    with torch.inference_mode():
        start = time.perf_counter()
        out = model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad,
        )
        elapsed = time.perf_counter() - start
    tokens = _count_until_eos(out[:, width:].tolist(), _eos_ids(model))
    return {
        "concurrency": batch,
        "output_tokens": tokens,
        "duration_s": elapsed,
        "output_tok_s": tokens / elapsed,
        "forced_tok_s": out[:, width:].numel() / elapsed,
    }


def single_stream(
    model: Any, tokenizer: Any, max_new_tokens: int, prompts: int = 4
) -> dict[str, Any]:
    """``generate`` one prompt at a time: tok/s, time to first token and decode speed."""
    import torch

    tokens, elapsed, first, decode_rates = 0, 0.0, [], []
    eos = _eos_ids(model)
    with torch.inference_mode():
        for i in range(prompts):
            input_ids = torch.tensor([_prompt_ids(tokenizer, i)])
            start = time.perf_counter()
            model.generate(input_ids=input_ids, max_new_tokens=1, do_sample=False)
            prefill = time.perf_counter() - start
            start = time.perf_counter()
            out = model.generate(
                input_ids=input_ids, max_new_tokens=max_new_tokens, do_sample=False
            )
            run = time.perf_counter() - start
            count = _count_until_eos(out[:, input_ids.shape[1] :].tolist(), eos)
            tokens += count
            elapsed += run
            first.append(prefill)
            if count > 1 and run > prefill:
                decode_rates.append((count - 1) / (run - prefill))
    return {
        "concurrency": 1,
        "output_tokens": tokens,
        "duration_s": elapsed,
        "output_tok_s": tokens / elapsed,
        "ttft_ms": {"p50": sorted(first)[len(first) // 2] * 1000},
        "decode_tok_s": sum(decode_rates) / len(decode_rates) if decode_rates else None,
    }


def forward_loop(model: Any, tokenizer: Any, rows: int, steps: int) -> dict[str, Any]:
    """``rows`` prompts prefilled together, then ``steps`` decode steps of the bare forward pass
    (KV cache, argmax, no EOS): the median step time and ``rows / step`` tok/s."""
    import statistics

    import torch
    from transformers import DynamicCache

    prompts = [_prompt_ids(tokenizer, i) for i in range(rows)]
    width = max(len(p) for p in prompts)
    input_ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    times = []
    with torch.inference_mode():
        cache = DynamicCache()
        out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                    past_key_values=cache, use_cache=True, logits_to_keep=1)  # fmt: skip
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        position = positions[:, -1:]
        for _ in range(steps):
            mask = torch.cat([mask, torch.ones((rows, 1), dtype=mask.dtype)], dim=1)
            position = position + 1
            start = time.perf_counter()
            out = model(input_ids=token, attention_mask=mask, position_ids=position,
                        past_key_values=cache, use_cache=True, logits_to_keep=1)  # fmt: skip
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            times.append(time.perf_counter() - start)
    step = statistics.median(times)
    return {"concurrency": rows, "step_ms": step * 1000, "output_tok_s": rows / step}


def _thread_counts() -> list[int]:
    """The torch thread counts a ceiling tries: 1 and all cores (OMP_NUM_THREADS fixes one)."""
    import os

    if os.environ.get("OMP_NUM_THREADS"):
        return [int(os.environ["OMP_NUM_THREADS"])]
    return sorted({1, os.cpu_count() or 1})


def _best_by_threads(measure: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], list[Any]]:
    """``measure()`` under each of :func:`_thread_counts`: the fastest row (with
    ``tok_s_by_threads``), and every row."""
    import torch

    tries = {}
    for threads in _thread_counts():
        torch.set_num_threads(threads)
        tries[threads] = measure()
    best = max(tries.values(), key=lambda row: row["output_tok_s"])
    best["tok_s_by_threads"] = {str(t): row["output_tok_s"] for t, row in tries.items()}
    return best, list(tries.values())


def forward_ceiling(
    levels: list[int], max_new_tokens: int, dtype: str | None = None
) -> list[dict[str, Any]]:
    """:func:`forward_loop` at each level, the best of 1 and of all torch threads (as
    :func:`ceiling`)."""
    model, tokenizer = load_demo(dtype)

    def measure(level: int) -> dict[str, Any]:
        forward_loop(model, tokenizer, 2, 4)  # warm-up
        return forward_loop(model, tokenizer, level, max_new_tokens)

    results = []
    for level in levels:
        best, _ = _best_by_threads(partial(measure, level))
        best["dtype"] = str(model.dtype).removeprefix("torch.")
        results.append(best)
    return results


def ceiling(
    levels: list[int], max_new_tokens: int, dtype: str | None = None
) -> list[dict[str, Any]]:
    """The reference figure at each concurrency level: the best of 1 and of all torch threads
    (OMP_NUM_THREADS, when set, fixes the count instead)."""
    model, tokenizer = load_demo(dtype)

    def measure(level: int) -> dict[str, Any]:
        static_batch(model, tokenizer, 2, 4)  # warm-up
        if level == 1:
            return single_stream(model, tokenizer, max_new_tokens)
        return static_batch(model, tokenizer, level, max_new_tokens)

    results = []
    for level in levels:
        best, tries = _best_by_threads(partial(measure, level))
        if level == 1:
            best["decode_tok_s"] = max(row["decode_tok_s"] or 0 for row in tries)
        results.append(best)
    return results
