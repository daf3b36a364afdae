from __future__ import annotations

import pytest
import torch

from modelport.engine import SamplingParams
from modelport.engine.sampling import RowSampling, sample, validate
from modelport.errors import InvalidRequestError

VOCAB = 16


def row(
    generated: list[int] | None = None, seed: int | None = None, **params: object
) -> RowSampling:
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return RowSampling(SamplingParams(max_new_tokens=8, **params), generated or [], generator)  # type: ignore[arg-type]


def peaked(best: int, margin: float = 1.0) -> torch.Tensor:
    logits = torch.zeros(VOCAB)
    logits[best] = margin
    return logits


def pick(logits: torch.Tensor, rows: list[RowSampling]) -> list[int]:
    sampled = sample(logits, rows)
    assert sampled.failed == {}
    return sampled.tokens


def test_greedy_rows_take_the_argmax() -> None:
    logits = torch.stack([peaked(3), peaked(7)])
    assert pick(logits, [row(temperature=0.0), row(temperature=0.0)]) == [3, 7]


def test_presence_penalty_moves_away_from_a_generated_token() -> None:
    logits = torch.stack([peaked(5), peaked(5)])
    chosen = pick(
        logits,
        [row([5], temperature=0.0), row([5], temperature=0.0, presence_penalty=2.0)],
    )
    assert chosen[0] == 5
    assert chosen[1] != 5


def test_frequency_penalty_grows_with_the_count() -> None:
    logits = torch.stack([peaked(5), peaked(5)])
    weak = row([5, 5], temperature=0.0, frequency_penalty=0.4)  # 0.8 < margin 1.0
    strong = row([5, 5], temperature=0.0, frequency_penalty=0.6)  # 1.2 > margin 1.0
    chosen = pick(logits, [weak, strong])
    assert chosen[0] == 5
    assert chosen[1] != 5


def test_negative_penalty_favours_generated_tokens() -> None:
    logits = peaked(5).unsqueeze(0)
    assert pick(logits, [row([2], temperature=0.0, presence_penalty=-2.0)]) == [2]


def test_top_k_limits_the_candidates() -> None:
    logits = torch.arange(VOCAB, dtype=torch.float32)
    seen = {pick(logits.clone().unsqueeze(0), [row(seed=s, top_k=2)])[0] for s in range(60)}
    assert seen == {VOCAB - 1, VOCAB - 2}


def test_top_p_keeps_the_smallest_set_reaching_the_mass() -> None:
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05] + [0.0] * (VOCAB - 4)) + 1e-9
    logits = probs.log()
    seen = {pick(logits.clone().unsqueeze(0), [row(seed=s, top_p=0.75)])[0] for s in range(80)}
    assert seen == {0, 1}


def test_same_seed_same_draws_different_seed_different_draws() -> None:
    logits = torch.zeros(1, 1000)

    def draws(seed: int) -> list[int]:
        r = row(seed=seed)
        return [pick(logits.clone(), [r])[0] for _ in range(5)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"max_new_tokens": 0}, "max_tokens"),
        ({"max_new_tokens": 2.5}, "max_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"seed": "7"}, "seed"),
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"frequency_penalty": -3}, "frequency_penalty"),
        ({"n": 0}, "n"),
        ({"n": 9}, "n"),
        ({"stop": ("",)}, "stop"),
        ({"stop": "END"}, "stop"),
    ],
)
def test_bad_params_are_refused_naming_the_param(params: dict[str, object], param: str) -> None:
    values: dict[str, object] = {"max_new_tokens": 4, **params}
    with pytest.raises(InvalidRequestError) as info:
        validate(SamplingParams(**values), max_batch_size=8)  # type: ignore[arg-type]
    assert info.value.param == param
    assert param.split("_")[0] in info.value.message


def test_logit_bias_bans_and_forces_tokens() -> None:
    logits = torch.stack([peaked(3), peaked(3)])
    banned = row(temperature=0.0, logit_bias=((3, -100.0),))
    forced = row(seed=1, logit_bias=((9, 100.0),))
    chosen = pick(logits, [banned, forced])
    assert chosen[0] != 3 and chosen[1] == 9


def test_a_row_whose_settings_fail_fails_alone() -> None:
    # a token id beyond the vocabulary (the engine refuses it at submit; here it gets through)
    poison = row(temperature=0.0, logit_bias=((VOCAB + 5, 1.0),))
    sampled_poison = row(seed=2, logit_bias=((VOCAB + 5, 1.0),))
    logits = torch.stack([peaked(3), peaked(5), peaked(7), peaked(1, margin=50.0)])
    sampled = sample(logits, [row(temperature=0.0), poison, sampled_poison, row(seed=4)])
    chosen, failed = sampled.tokens, sampled.failed
    assert set(failed) == {1, 2} and all(isinstance(e, IndexError) for e in failed.values())
    assert chosen[0] == 3 and chosen[3] == 1


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"seed": 2**63}, "seed"),
        ({"seed": -(2**63) - 1}, "seed"),
        ({"logit_bias": ((-1, 1.0),)}, "logit_bias"),
        ({"logit_bias": ((3, 101.0),)}, "logit_bias"),
        ({"logit_bias": ((3, float("nan")),)}, "logit_bias"),
    ],
)
def test_out_of_range_seed_and_bias_are_refused(params: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        validate(SamplingParams(max_new_tokens=4, **params), max_batch_size=4)  # type: ignore[arg-type]
    assert caught.value.param == param


@pytest.mark.parametrize(
    "params",
    [{"temperature": 5e-324}, {"temperature": 1e-45}, {"top_p": 5e-324}, {"top_p": 1e-300}],
)
def test_vanishing_temperature_or_top_p_picks_the_best_token(params: dict[str, float]) -> None:
    logits = torch.stack([peaked(6, margin=3.0), peaked(2, margin=3.0)])
    assert pick(logits, [row(seed=1, **params), row(seed=2, **params)]) == [6, 2]
