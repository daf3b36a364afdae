"""Packed steps: the running rows' next tokens and the newcomers' prompts in one forward pass.

A step's tokens are laid out as one unpadded sequence ``[1, tokens]``: first one token for each
running row (in row order), then each joining request's prompt (after its cached prefix, if
any). The linear layers, which are most of a step's cost, then run once over exactly the tokens
that need them, and a request joining the batch costs a few more tokens in the running batch's
step instead of a forward pass of its own.

Attention is where the tokens must not see each other. :func:`packed_attention` is registered
with transformers' ``AttentionInterface`` and set on the engine's model; while a
:class:`StepPlan` is active on the calling thread it

- appends each running row's new key and value to the batch cache (``[rows, heads, columns,
  dim]``, one column per step, as ``DynamicCache.update`` would) and attends each row's query to
  its own row under the batch's padding mask;
- attends each joiner's prompt causally to its cached prefix and itself, and keeps those keys
  and values on the :class:`Joiner` so the engine can add the joiner's row to the batch after the
  pass.

Without a plan (the model used outside the engine) it is transformers' SDPA attention.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from transformers import AttentionInterface, DynamicCache
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from modelport.engine.cache import Prefix
from modelport.errors import UnsupportedFeatureError

NAME = "modelport_packed"

_local = threading.local()


@dataclass(eq=False)
class Joiner:
    """A prompt prefilled in a packed step: where its tokens are, and its keys and values."""

    offset: int  # index of its first token in the packed sequence
    length: int  # tokens it prefills (after the cached prefix)
    prefix: Prefix | None
    keys: list[torch.Tensor] = field(default_factory=list)  # per layer, [1, heads, all, dim]
    values: list[torch.Tensor] = field(default_factory=list)


@dataclass
class StepPlan:
    """The layout of one packed forward pass."""

    rows: int  # running rows, one token each, first in the sequence
    cache: DynamicCache | None  # the batch cache the rows' new keys and values are appended to
    mask: (
        torch.Tensor | None
    )  # [rows, 1, 1, columns] bool, the rows' keys to attend (new one included)
    joiners: list[Joiner]


@contextmanager
def planned(plan: StepPlan) -> Iterator[None]:
    """Make :func:`packed_attention` follow ``plan`` on this thread for the duration."""
    _local.plan = plan
    try:
        yield
    finally:
        _local.plan = None


def packed_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention for a packed step (see the module docstring); ``[1, tokens, heads, dim]`` out."""
    plan: StepPlan | None = getattr(_local, "plan", None)
    if plan is None:
        output, weights = sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
        return output, weights
    layer = module.layer_idx
    gqa = query.shape[1] != key.shape[1]
    outputs: list[torch.Tensor] = []
    rows = plan.rows
    if rows:
        assert plan.cache is not None
        cached = plan.cache.layers[layer]
        # [1, heads, rows, dim] -> [rows, heads, 1, dim]: each running row's own new column
        keys = torch.cat([cached.keys, key[0, :, :rows].transpose(0, 1).unsqueeze(2)], dim=2)
        values = torch.cat([cached.values, value[0, :, :rows].transpose(0, 1).unsqueeze(2)], dim=2)
        cached.keys, cached.values = keys, values
        out = F.scaled_dot_product_attention(
            query[0, :, :rows].transpose(0, 1).unsqueeze(2),
            keys,
            values,
            attn_mask=plan.mask,
            scale=scaling,
            enable_gqa=gqa,
        )
        outputs.append(out.squeeze(2).unsqueeze(0))  # [1, rows, heads, dim]
    for joiner in plan.joiners:
        span = slice(joiner.offset, joiner.offset + joiner.length)
        keys, values = key[:, :, span], value[:, :, span]
        skip = 0
        if joiner.prefix is not None:
            skip = len(joiner.prefix.tokens)
            keys = torch.cat([joiner.prefix.keys[layer], keys], dim=2)
            values = torch.cat([joiner.prefix.values[layer], values], dim=2)
        joiner.keys.append(keys)
        joiner.values.append(values)
        mask = None
        if skip:  # token i sees the prefix and the prompt up to itself
            mask = torch.ones(
                (joiner.length, skip + joiner.length), dtype=torch.bool, device=query.device
            ).tril(diagonal=skip)
        out = F.scaled_dot_product_attention(
            query[:, :, span],
            keys,
            values,
            attn_mask=mask,
            is_causal=mask is None,
            scale=scaling,
            enable_gqa=gqa,
        )
        outputs.append(out.transpose(1, 2))
    return torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0], None


def use_packed_attention(model: Any) -> None:
    """Switch ``model`` to :func:`packed_attention`, or refuse a model it cannot serve."""
    can_set = getattr(model, "_can_set_attn_implementation", None)
    if can_set is None or not can_set():
        raise UnsupportedFeatureError(
            "the batching engine needs a transformers model whose attention goes through "
            f"transformers' AttentionInterface; {type(model).__name__} does not"
        )
    if getattr(model.config.get_text_config(), "attn_logit_softcapping", None) is not None:
        raise UnsupportedFeatureError(
            "the batching engine does not support attention logit soft-capping "
            "(attn_logit_softcapping is set in this model's config)"
        )
    if any(getattr(module, "sinks", None) is not None for module in model.modules()):
        raise UnsupportedFeatureError(
            "the batching engine does not support attention sinks (this model has them)"
        )
    model.set_attn_implementation(NAME)


def packed_mask(*args: Any, **kwargs: Any) -> Any:
    """No mask for a packed step (:func:`packed_attention` builds its own); SDPA's otherwise."""
    if getattr(_local, "plan", None) is not None:
        return None
    return sdpa_mask(*args, **kwargs)


AttentionInterface.register(NAME, packed_attention)
AttentionMaskInterface.register(NAME, packed_mask)
