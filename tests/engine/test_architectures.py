"""Every architecture in ``TINY_ARCHITECTURES`` (tests/conftest.py) served by the engine, on each
path: greedy output equals the model's own ``generate``, and prompts batched equal each alone,
well past the sliding window where the model has one."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from modelport.engine import EngineConfig, GenerationEngine, SamplingParams

NEW_TOKENS = 24  # six times the tiny models' sliding window


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


@pytest.mark.parametrize("path", ["auto", "padded", "serial"])
def test_greedy_equals_generate_alone_and_batched(
    make_tiny_causal_lm: Any,
    tokenizer: Any,
    architecture: str,
    auto_path: str,
    path: str,
    prompts: list[list[int]],
) -> None:
    from modelport.errors import UnsupportedFeatureError

    model = make_tiny_causal_lm(architecture)
    if path == "padded" and auto_path == "serial":  # padding would corrupt its states
        with pytest.raises(UnsupportedFeatureError, match="padded engine path cannot serve"):
            GenerationEngine(model, tokenizer, EngineConfig(path=path))
        return
    chosen = prompts[:4]
    expected = []
    for prompt in chosen:
        tokens, gap = generate(model, prompt)
        assert gap > 1e-4, "the tiny model has a near-tie: pick another seed or init"
        expected.append(tokens)
    engine = GenerationEngine(model, tokenizer, EngineConfig(path=path), eos_token_ids=[])
    try:
        assert engine.path == (auto_path if path == "auto" else path)
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


def test_the_kv_budget_counts_only_what_a_window_keeps(
    make_tiny_causal_lm: Any, tokenizer: Any
) -> None:
    from modelport.engine.cache import kv_bytes_per_token
    from modelport.errors import ContextLengthExceededError

    # The tiny Mistral has a window of 4 on both layers: a row keeps 3 columns whatever its
    # length. The tiny Llama has the same sizes with full attention.
    llama, mistral = make_tiny_causal_lm("llama"), make_tiny_causal_lm("mistral")
    column = kv_bytes_per_token(llama.config, torch.float32)
    assert column == kv_bytes_per_token(mistral.config, torch.float32)
    budget = column * 32  # room for 32 columns: less than one 10 + 40 token row with full attention
    prompt = list(range(100, 110))
    params = SamplingParams(max_new_tokens=40, temperature=0.0)
    full = GenerationEngine(llama, tokenizer, EngineConfig(kv_cache_bytes=budget))
    windowed = GenerationEngine(mistral, tokenizer, EngineConfig(kv_cache_bytes=budget))
    try:
        with pytest.raises(ContextLengthExceededError, match="KV cache"):
            full.submit(prompt, params)
        handles = [windowed.submit([*prompt, i], params) for i in range(8)]
        for handle in handles:
            for _ in handle:
                pass
        assert all(len(h.completion_tokens[0]) == 40 for h in handles)
        stats = windowed.stats()
        assert stats["peak_running_sequences"] == 8  # 8 rows of 3 columns fit in 32
        assert 0 < stats["kv_cache_peak_bytes"] <= 8 * 3 * column
    finally:
        full.shutdown()
        windowed.shutdown()


def test_forcing_the_packed_path_on_a_model_it_cannot_serve_is_refused(
    make_tiny_causal_lm: Any, tokenizer: Any
) -> None:
    from modelport.errors import UnsupportedFeatureError

    with pytest.raises(UnsupportedFeatureError, match=r"packed engine path cannot serve.*MptFor"):
        GenerationEngine(make_tiny_causal_lm("mpt"), tokenizer, EngineConfig(path="packed"))
