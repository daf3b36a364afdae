"""The engine paths (modelport.engine.runners): which model takes which and why, and the serial
path's batch of one request's rows in the model's own state."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from modelport.engine import EngineConfig, GenerationEngine, SamplingParams
from modelport.engine.attention import Joiner, StepPlan
from modelport.engine.runners import SerialRunner, StateBatch, choose_path, state_bytes


@pytest.mark.parametrize(
    ("architecture", "path", "reason"),
    [
        ("llama", "packed", "AttentionInterface"),
        ("mpt", "padded", "does not go through transformers' AttentionInterface"),
        ("llama4_text", "padded", "chunked attention"),
        ("mamba", "serial", "LinearAttentionLayer layers, states that padding would corrupt"),
        ("rwkv", "serial", "keeps a state of its own"),
        ("openai-gpt", "serial", "takes no cache, so each step runs the whole sequence again"),
    ],
)
def test_each_model_takes_the_fastest_path_that_serves_it(
    make_tiny_causal_lm: Any, architecture: str, path: str, reason: str
) -> None:
    chosen, why = choose_path(make_tiny_causal_lm(architecture))
    assert chosen == path
    assert reason in why


def test_serial_rows_that_finish_stay_in_the_state_unseen(make_tiny_causal_lm: Any) -> None:
    model = make_tiny_causal_lm("qwen3_next")  # linear-attention states beside keys and values
    runner = SerialRunner(model, "test")
    layout = runner.measure()
    assert layout.fixed > 0 and layout.column_bytes[0] > 0  # a state, and keys that grow
    joiner = Joiner(0, 5, None, copies=3)
    with torch.inference_mode():
        logits = runner.forward(StepPlan(0, None, None, [joiner]), [5, 6, 7, 8, 9], [0])
    batch = runner.stack(layout, [joiner])
    assert logits.shape[0] == 1 and (batch.width, batch.spans) == (3, [5, 5, 5])
    held = batch.bytes_held()
    assert held == 3 * layout.row_bytes(5)
    batch.select([0, 2])
    assert (batch.width, batch.live, batch.ids.shape[0], batch.spans) == (3, [0, 2], 3, [5, 5])
    assert batch.bytes_held() == held


def test_serial_rows_of_a_model_without_a_cache_leave() -> None:
    state = [torch.zeros(3, 4), torch.ones(3, 2)]  # RWKV's kind: plain tensors, no Cache
    assert state_bytes(state) == StateBatch(state, torch.zeros((3, 5))).bytes_held() == 3 * 6 * 4
    batch = StateBatch(None, torch.arange(15).reshape(3, 5))  # GPT-1's: the tokens alone
    batch.select([0, 2])
    batch.select([1])
    assert (batch.width, batch.live, batch.spans, batch.ids.tolist()) == (
        1,
        [0],
        [5],
        [[10, 11, 12, 13, 14]],
    )
    with pytest.raises(RuntimeError, match="holds 1 rows"):
        batch.repeat_rows([2])


@pytest.mark.parametrize(
    "architecture", ["qwen3_next", "mamba", "minimax", "recurrent_gemma", "openai-gpt"]
)
def test_serial_rows_that_finish_early_leave_the_others_unchanged(
    make_tiny_causal_lm: Any, tokenizer: Any, architecture: str
) -> None:
    """n sampled rows ending at different steps (EOS): each row's tokens are those it makes
    when the other rows run to the end."""
    model = make_tiny_causal_lm(architecture)
    prompt = [5, 6, 7, 8, 9]
    params = SamplingParams(max_new_tokens=16, temperature=1.0, seed=11, n=4)
    free = GenerationEngine(model, tokenizer, EngineConfig(), eos_token_ids=[])
    try:
        handle = free.submit(prompt, params)
        for _ in handle:
            pass
        rows = [list(t) for t in handle.completion_tokens]
    finally:
        free.shutdown()
    # end each row where its own 3rd, 6th, ... token first appears as an EOS token
    eos = {rows[0][2], rows[1][5], rows[2][8]}
    expected = []
    for row in rows:
        end = next((i for i, t in enumerate(row) if t in eos), len(row))
        expected.append(row[:end])
    assert len({len(r) for r in expected}) > 1, "pick another seed: the rows end together"
    engine = GenerationEngine(model, tokenizer, EngineConfig(), eos_token_ids=sorted(eos))
    try:
        assert engine.path == "serial"
        handle = engine.submit(prompt, params)
        for _ in handle:
            pass
        assert [list(t) for t in handle.completion_tokens] == expected
    finally:
        engine.shutdown()


def test_a_config_transformers_cache_cannot_read_still_gets_a_path(
    make_tiny_causal_lm: Any,
) -> None:
    model = make_tiny_causal_lm("llama")
    model.config.layer_types = ["mla_attention", "full_attention"]  # remote code's own kind
    path, reason = choose_path(model)
    assert path == "serial"
    assert "transformers builds no" in reason
