"""Every architecture in ``TINY_ARCHITECTURES`` (tests/conftest.py) served by the engine, on each
path: greedy output equals the model's own ``generate``, and prompts batched equal each alone,
well past the sliding window where the model has one."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from modelport.engine import EngineConfig, GenerationEngine, SamplingParams

NEW_TOKENS = 24  # six times the tiny models' sliding window
PADDED_ONLY = {"falcon", "mpt"}  # their attention is outside transformers' AttentionInterface


def generate(model: Any, prompt: list[int]) -> tuple[list[int], float]:
    """The model's own greedy continuation, and the smallest top-2 logit gap along it."""
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([prompt]),
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            pad_token_id=0,
            output_scores=True,
            return_dict_in_generate=True,
        )
    gaps = [float(step[0].topk(2).values.diff().abs()) for step in out.scores]
    return out.sequences[0, len(prompt) :].tolist(), min(gaps)


def run(engine: GenerationEngine, prompts: list[list[int]]) -> list[list[int]]:
    """Submit all prompts at once; the tokens each one generated."""
    params = SamplingParams(max_new_tokens=NEW_TOKENS, temperature=0.0)
    handles = [engine.submit(p, params) for p in prompts]
    for handle in handles:
        for _ in handle:
            pass
    return [list(handle.completion_tokens[0]) for handle in handles]


@pytest.mark.parametrize("path", ["auto", "padded"])
def test_greedy_equals_generate_alone_and_batched(
    make_tiny_causal_lm: Any,
    tokenizer: Any,
    architecture: str,
    path: str,
    prompts: list[list[int]],
) -> None:
    model = make_tiny_causal_lm(architecture)
    chosen = prompts[:4]
    expected = []
    for prompt in chosen:
        tokens, gap = generate(model, prompt)
        assert gap > 1e-4, "the tiny model has a near-tie: pick another seed or init"
        expected.append(tokens)
    engine = GenerationEngine(model, tokenizer, EngineConfig(path=path), eos_token_ids=[])
    try:
        assert engine.path == (
            "padded" if path == "padded" or architecture in PADDED_ONLY else "packed"
        )
        assert [run(engine, [p])[0] for p in chosen] == expected  # each alone
        assert run(engine, chosen) == expected  # four at once, joining in one step
        # and rows joining a running batch: the first prompt starts, the others join later
        params = SamplingParams(max_new_tokens=NEW_TOKENS, temperature=0.0)
        first = engine.submit(chosen[0], params)
        next(iter(first))
        assert run(engine, chosen[1:]) == expected[1:]
        for _ in first:
            pass
        assert list(first.completion_tokens[0]) == expected[0]
    finally:
        engine.shutdown()
