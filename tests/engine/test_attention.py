"""Packed steps against transformers' own (eager) attention on separate, unpacked sequences."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from modelport.engine.attention import Joiner, StepPlan, planned, use_packed_attention
from modelport.engine.cache import BatchCache, KVLayout, Prefix
from modelport.errors import UnsupportedFeatureError


@pytest.fixture(scope="module")
def models(tiny_model: Any) -> tuple[Any, Any]:
    """(packed, reference): copies of the tiny model, one switched to packed attention."""
    reference = copy.deepcopy(tiny_model)
    reference.set_attn_implementation("eager")
    packed = copy.deepcopy(tiny_model)
    use_packed_attention(packed)
    return packed, reference


def full_layout(model: Any) -> KVLayout:
    return KVLayout.full([1] * model.config.num_hidden_layers)


def last_logits(model: Any, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids])).logits[0, -1]


def packed_step(
    model: Any,
    batch: BatchCache | None,
    row_tokens: list[int],
    prompts: list[tuple[list[int], Prefix | None]],
) -> tuple[torch.Tensor, list[Joiner]]:
    """One packed forward pass, laid out as the engine does; the logits it keeps."""
    tokens, positions = list(row_tokens), list(batch.lengths) if batch else []
    joiners = []
    for ids, prefix in prompts:
        skip = len(prefix.tokens) if prefix else 0
        joiners.append(Joiner(len(tokens), len(ids) - skip, prefix))
        tokens += ids[skip:]
        positions += range(skip, len(ids))
    mask = None
    if batch is not None:
        batch.append_column()
        mask = batch.attention_mask.bool()[:, None, None, :]
    keep = [*range(len(row_tokens)), *(j.offset + j.length - 1 for j in joiners)]
    plan = StepPlan(len(row_tokens), batch.cache if batch else None, mask, joiners)
    with torch.inference_mode(), planned(plan):
        out = model(
            input_ids=torch.tensor([tokens]),
            position_ids=torch.tensor([positions]),
            use_cache=False,
            logits_to_keep=torch.tensor(keep),
        )
    return out.logits[0], joiners


def test_running_rows_and_joining_prompts_share_a_pass_without_seeing_each_other(
    models: tuple[Any, Any], prompts: list[list[int]]
) -> None:
    packed, reference = models
    a, b, c, d = prompts[3], prompts[2], prompts[0], prompts[1]  # lengths differ
    # Step 1: a and b prefill together, no running rows.
    logits, joiners = packed_step(packed, None, [], [(a, None), (b, None)])
    for row, ids in enumerate((a, b)):
        torch.testing.assert_close(logits[row], last_logits(reference, ids), atol=1e-4, rtol=1e-4)
    batch = BatchCache.stack(full_layout(packed), [(j.keys, j.values) for j in joiners])
    # A cached prefix of c, taken from a prefill of its first tokens.
    _, (head,) = packed_step(packed, None, [], [(c[:3], None)])
    prefix = Prefix(tuple(c[:3]), head.keys, head.values)
    # Step 2: a and b decode one token each while c (after its prefix) and d prefill.
    ta, tb = 11, 22
    logits, joiners = packed_step(packed, batch, [ta, tb], [(c, prefix), (d, None)])
    for row, ids in enumerate(([*a, ta], [*b, tb], c, d)):
        torch.testing.assert_close(logits[row], last_logits(reference, ids), atol=1e-4, rtol=1e-4)
    # Step 3: c and d have joined the batch's rows; all four decode together.
    batch.extend(BatchCache.stack(full_layout(packed), [(j.keys, j.values) for j in joiners]))
    step = [33, 44, 55, 66]
    logits, _ = packed_step(packed, batch, step, [])
    for row, ids in enumerate(([*a, ta], [*b, tb], c, d)):
        expected = last_logits(reference, [*ids, step[row]])
        torch.testing.assert_close(logits[row], expected, atol=1e-4, rtol=1e-4)


def assert_same_on_a_padded_batch(packed: Any, reference: Any, a: list[int], b: list[int]) -> None:
    """The two models' last logits agree on a left-padded batch of ``a`` and the shorter ``b``."""
    ids = torch.tensor([a, [0] * (len(a) - len(b)) + b])
    mask = (torch.arange(len(a)) >= len(a) - len(b)).long().expand(2, -1).clone()
    mask[0] = 1
    with torch.inference_mode():
        got = packed(input_ids=ids, attention_mask=mask).logits[:, -1]
        want = reference(input_ids=ids, attention_mask=mask).logits[:, -1]
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_outside_a_packed_step_the_model_attends_as_before(
    models: tuple[Any, Any], prompts: list[list[int]]
) -> None:
    packed, reference = models
    assert_same_on_a_padded_batch(packed, reference, prompts[3], prompts[2])


@pytest.mark.parametrize("architecture", ["gemma2", "gpt_oss"])
def test_outside_a_packed_step_soft_capped_and_sink_models_attend_as_before(
    make_tiny_causal_lm: Any, architecture: str, prompts: list[list[int]]
) -> None:
    # Gemma 2 soft-caps its attention logits, gpt-oss has sinks: SDPA can do neither, so the
    # packed attention computes them itself when the model runs outside the engine.
    reference = make_tiny_causal_lm(architecture)
    packed = copy.deepcopy(reference)
    use_packed_attention(packed)
    assert_same_on_a_padded_batch(packed, reference, prompts[3], prompts[2])


def test_models_whose_attention_packed_steps_cannot_replace_are_refused(
    make_tiny_causal_lm: Any,
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="AttentionInterface"):
        use_packed_attention(torch.nn.Linear(2, 2))
    with pytest.raises(UnsupportedFeatureError, match="MptForCausalLM's attention"):
        use_packed_attention(make_tiny_causal_lm("mpt"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_one_query_per_head_attends_as_the_repeated_key_value_heads_do(dtype: Any) -> None:
    import torch.nn.functional as F

    from modelport.engine.attention import attend

    torch.manual_seed(0)
    rows, heads, kv_heads, columns, dim = 5, 6, 2, 9, 8
    query = torch.randn(1, rows, heads, dim, dtype=dtype).transpose(1, 2)[0]
    query = query.transpose(0, 1).unsqueeze(2)  # [rows, heads, 1, dim], strided as in a step
    keys = torch.randn(rows, kv_heads, columns, dim, dtype=dtype)
    values = torch.randn(rows, kv_heads, columns, dim, dtype=dtype)
    mask = torch.ones((rows, 1, 1, columns), dtype=torch.bool)
    mask[0, ..., :4] = False  # a row with padding
    expected = F.scaled_dot_product_attention(
        query,
        keys.repeat_interleave(heads // kv_heads, dim=1),
        values.repeat_interleave(heads // kv_heads, dim=1),
        attn_mask=mask,
    )
    got = attend(query, keys, values, mask, scale=None)
    assert got.shape == expected.shape == (rows, heads, 1, dim)
    tolerance = 1e-6 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(got, expected, atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("keep", [None, 3])
def test_a_column_room_holds_what_concatenating_each_column_would(keep: int | None) -> None:
    from modelport.engine.attention import ROOM, ColumnRoom

    torch.manual_seed(0)
    keys, values = torch.randn(3, 2, 5, 4), torch.randn(3, 2, 5, 4)
    room = ColumnRoom(keys, values)
    assert room.holds(keys, values) and not room.holds(keys.clone(), values)
    for step in range(ROOM + 20):  # past the room at the end: the held columns move once
        new_keys, new_values = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
        attended_keys, attended_values = room.append(new_keys, new_values, keep)
        keys = torch.cat([keys, new_keys.unsqueeze(2)], dim=2)
        values = torch.cat([values, new_values.unsqueeze(2)], dim=2)
        assert torch.equal(attended_keys, keys), step
        assert torch.equal(attended_values, values), step
        if keep is not None:
            keys, values = keys[:, :, -keep:], values[:, :, -keep:]
        assert torch.equal(room.keys, keys) and torch.equal(room.values, values), step
