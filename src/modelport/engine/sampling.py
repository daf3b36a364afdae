"""Choosing the next token of every row of a batch, each row with its own settings.

Rows are grouped by what they need so that a batch of greedy rows costs one ``argmax``:
penalties (OpenAI presence/frequency, over the tokens generated so far), then greedy rows, then
sampled rows (temperature, top-k, top-p), each sampled row drawing from its own seeded
``torch.Generator`` when the request gave a seed, so that a seed gives the same text whatever
else shares the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from modelport.engine import RowConstraint, SamplingParams, TokenLogprob
from modelport.errors import InvalidRequestError

# A seed outside 64 bits overflows torch.Generator.manual_seed.
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1
# Below this, a temperature divides the logits into infinities: such a row is greedy (its limit).
GREEDY_BELOW = 1e-5
# Matching a stop string costs up to its length squared per step, on the shared engine thread.
MAX_STOP_LENGTH = 1024


def validate(params: SamplingParams, *, max_batch_size: int) -> None:
    """Refuse settings outside the OpenAI ranges, naming the parameter and what is accepted."""

    def bad(param: str, message: str) -> InvalidRequestError:
        return InvalidRequestError(message, param=param)

    if (
        isinstance(params.max_new_tokens, bool)
        or not isinstance(params.max_new_tokens, int)
        or params.max_new_tokens < 1
    ):
        raise bad("max_tokens", f"max_tokens must be an integer ≥ 1, got {params.max_new_tokens!r}")
    if not _is_number(params.temperature) or not 0.0 <= params.temperature <= 2.0:
        raise bad("temperature", f"temperature must be between 0 and 2, got {params.temperature!r}")
    if params.top_p is not None and (not _is_number(params.top_p) or not 0.0 < params.top_p <= 1.0):
        raise bad("top_p", f"top_p must be in (0, 1], got {params.top_p!r}")
    if params.top_k is not None and (
        isinstance(params.top_k, bool) or not isinstance(params.top_k, int) or params.top_k < 0
    ):
        raise bad("top_k", f"top_k must be an integer ≥ 0 (0 = no limit), got {params.top_k!r}")
    if params.seed is not None and (
        isinstance(params.seed, bool)
        or not isinstance(params.seed, int)
        or not SEED_MIN <= params.seed <= SEED_MAX
    ):
        raise bad("seed", f"seed must be a 64-bit integer (-2**63 to 2**63-1), got {params.seed!r}")
    for token, bias in params.logit_bias:
        if isinstance(token, bool) or not isinstance(token, int) or token < 0:
            raise bad("logit_bias", f"logit_bias keys must be token ids ≥ 0, got {token!r}")
        if not _is_number(bias) or not -100.0 <= bias <= 100.0:
            raise bad("logit_bias", f"logit_bias values must be between -100 and 100, got {bias!r}")
    for name in ("presence_penalty", "frequency_penalty"):
        value = getattr(params, name)
        if not _is_number(value) or not -2.0 <= value <= 2.0:
            raise bad(name, f"{name} must be between -2 and 2, got {value!r}")
    if isinstance(params.n, bool) or not isinstance(params.n, int) or params.n < 1:
        raise bad("n", f"n must be an integer ≥ 1, got {params.n!r}")
    if params.n > max_batch_size:
        raise bad(
            "n", f"n must be at most {max_batch_size} (the engine's batch size), got {params.n}"
        )
    if not isinstance(params.stop, tuple) or not all(isinstance(s, str) and s for s in params.stop):
        raise bad("stop", f"stop must be a tuple of non-empty strings, got {params.stop!r}")
    if params.logprobs is not None and (
        isinstance(params.logprobs, bool)
        or not isinstance(params.logprobs, int)
        or not 0 <= params.logprobs <= 20
    ):
        raise bad("top_logprobs", f"top_logprobs must be 0 to 20, got {params.logprobs!r}")
    if any(len(s) > MAX_STOP_LENGTH for s in params.stop):
        raise bad("stop", f"stop strings may have at most {MAX_STOP_LENGTH} characters")


def _is_number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


@dataclass
class RowSampling:
    """What the sampler needs to know about one row (one sequence) of the batch."""

    params: SamplingParams
    generated: list[int]
    generator: torch.Generator | None
    constraint: RowConstraint | None = None


@dataclass
class Sampled:
    """One step's choice for every row: ``tokens``; ``failed``: the rows whose own settings
    made the choice fail (each fails its request alone); ``logprobs`` for the rows that ask."""

    tokens: list[int]
    failed: dict[int, Exception] = field(default_factory=dict)
    logprobs: dict[int, TokenLogprob] = field(default_factory=dict)


def sample(logits: torch.Tensor, rows: list[RowSampling]) -> Sampled:
    """Pick one token per row of ``logits`` (shape ``[rows, vocab]``, float32)."""
    out = Sampled([0] * len(rows))
    for i, row in enumerate(rows):
        try:
            _adjust(logits, i, row)
        except Exception as exc:  # this row's settings; the batch goes on
            out.failed[i] = exc

    greedy = [i for i, row in enumerate(rows) if _greedy(row) and i not in out.failed]
    if greedy:
        picked = logits[greedy].argmax(dim=-1).tolist()
        for i, token in zip(greedy, picked, strict=True):
            out.tokens[i] = int(token)
            top = rows[i].params.logprobs
            if top is not None:
                try:
                    out.logprobs[i] = _logprob(logits[i], int(token), top)
                except Exception as exc:  # this row's request fails alone
                    out.failed[i] = exc
    for i, row in enumerate(rows):
        if not _greedy(row) and i not in out.failed:
            try:
                token, scores = _sample_row(logits[i], row)
                out.tokens[i] = token
                top = row.params.logprobs
                if top is not None:
                    out.logprobs[i] = _logprob(scores, token, top)
            except Exception as exc:
                out.failed[i] = exc
    return out


def _greedy(row: RowSampling) -> bool:
    return row.params.temperature < GREEDY_BELOW


def _adjust(logits: torch.Tensor, i: int, row: RowSampling) -> None:
    """Row ``i``'s grammar mask, logit bias, then its presence and frequency penalties, in place."""
    p = row.params
    if row.constraint is not None:
        allowed = row.constraint.allowed()
        width = min(allowed.shape[0], logits.shape[-1])
        logits[i, :width].masked_fill_(~allowed[:width], -math.inf)
        logits[i, width:] = -math.inf
        if not bool(allowed[:width].any()):
            raise RuntimeError("the grammar allows no token here")
    if p.logit_bias:
        ids = torch.tensor([token for token, _ in p.logit_bias], dtype=torch.long)
        biases = torch.tensor([bias for _, bias in p.logit_bias], dtype=logits.dtype)
        logits[i].index_add_(0, ids, biases)
    if (p.presence_penalty or p.frequency_penalty) and row.generated:
        counts = torch.bincount(
            torch.tensor(row.generated, dtype=torch.long), minlength=logits.shape[-1]
        ).to(logits.dtype)[: logits.shape[-1]]
        logits[i] -= p.frequency_penalty * counts + p.presence_penalty * (counts > 0).to(
            logits.dtype
        )


def _logprob(scores: torch.Tensor, token: int, top: int) -> TokenLogprob:
    """``token``'s log-probability under ``softmax(scores)`` and the ``top`` best alternatives."""
    logprobs = torch.log_softmax(scores, dim=-1)
    alternatives: tuple[tuple[int, float], ...] = ()
    if top:
        values, ids = torch.topk(logprobs, min(top, logprobs.shape[-1]))
        alternatives = tuple(
            (int(t), float(v)) for t, v in zip(ids.tolist(), values.tolist(), strict=True)
        )
    return TokenLogprob(token, float(logprobs[token]), alternatives)


def _sample_row(logits: torch.Tensor, row: RowSampling) -> tuple[int, torch.Tensor]:
    """A draw from the row's distribution; returns the token and the scores it was drawn from
    (temperature applied, tokens outside top-k / top-p at -inf)."""
    p = row.params
    scores = logits / p.temperature
    if p.top_k:
        k = min(p.top_k, scores.shape[-1])
        kth = torch.topk(scores, k).values[-1]
        scores = scores.masked_fill(scores < kth, -math.inf)
    if p.top_p is not None and p.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True)
        sorted_probs = torch.softmax(sorted_scores, dim=-1)
        # Keep the smallest set whose mass reaches top_p: drop a token once the mass before it does.
        drop_sorted = (sorted_probs.cumsum(dim=-1) - sorted_probs) >= p.top_p
        drop_sorted[0] = False  # the most likely token always stays (rounding, a tiny top_p)
        drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
        scores = scores.masked_fill(drop, -math.inf)
    probs = torch.softmax(scores, dim=-1)
    return int(torch.multinomial(probs, 1, generator=row.generator).item()), scores
