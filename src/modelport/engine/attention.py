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

Layers with a sliding window attend to the last ``window`` keys only and keep ``window - 1``
of them; attention logit soft-capping (Gemma 2) and attention sinks (gpt-oss) are applied as the
models' own eager attention applies them, in :func:`attend`.

Without a plan (the model used outside the engine) it is transformers' SDPA attention, or
:func:`attend` with the model's mask where SDPA cannot soft-cap or sink.
"""

from __future__ import annotations

import inspect
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

from modelport.engine.cache import ROOM_ATTRIBUTE, Prefix, sliding_windows
from modelport.errors import UnsupportedFeatureError

NAME = "modelport_packed"
ROOM = 32  # columns of room a layer's batch keys and values get at the end (ColumnRoom)

_local = threading.local()


@dataclass(eq=False)
class Joiner:
    """A prompt prefilled in a packed step: where its tokens are, and its keys and values."""

    offset: int  # index of its first token in the packed sequence
    length: int  # tokens it prefills (after the cached prefix)
    prefix: Prefix | None
    keys: list[torch.Tensor] = field(default_factory=list)  # per layer, [1, heads, all, dim]
    values: list[torch.Tensor] = field(default_factory=list)
    copies: int = 1  # the request's n: the serial path prefills that many rows at once
    state: Any = None  # the serial path: the model's own cache after the prefill


@dataclass
class StepPlan:
    """The layout of one packed forward pass."""

    rows: int  # running rows, one token each, first in the sequence
    cache: DynamicCache | None  # the batch cache the rows' new keys and values are appended to
    mask: (
        torch.Tensor | None
    )  # [rows, 1, 1, columns] bool, the rows' keys to attend (new one included)
    joiners: list[Joiner]
    keep: tuple[int | None, ...] = ()  # per layer: columns kept between steps (None: all)
    windows: tuple[int | None, ...] = ()  # per layer: its sliding window (None: full attention)
    batch: Any = None  # the serial path decodes the rows of its StateBatch


@contextmanager
def planned(plan: StepPlan) -> Iterator[None]:
    """Make :func:`packed_attention` follow ``plan`` on this thread for the duration."""
    _local.plan = plan
    try:
        yield
    finally:
        _local.plan = None


def attend(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None,
    *,
    scale: float | None,
    causal: bool = False,
    softcap: float | None = None,
    sinks: torch.Tensor | None = None,
) -> torch.Tensor:
    """Attention of ``[batch, heads, queries, dim]`` queries over ``[batch, kv heads, keys,
    dim]`` keys and values; ``mask`` is boolean (True: attend) or additive, or ``causal``.

    SDPA when it can; the explicit computation when the model soft-caps its logits
    (``tanh(s / cap) * cap`` before the mask) or has attention sinks (one learned logit per
    head that takes part in the softmax and is dropped after it).
    """
    gqa = query.shape[1] != key.shape[1]
    shared_mask = mask is None or (mask.dim() == 4 and mask.shape[1] == 1 and mask.shape[2] == 1)
    single = query.shape[2] == 1 and not causal
    if softcap is None and sinks is None and gqa and single and shared_mask:
        # One query per head: the heads that share a key-value head become that head's
        # queries, so SDPA runs once per key-value head. Same result; in bf16 on CPU its
        # kernel costs ~6x less per layer this way (1.06 -> 0.16 ms at 16 rows, demo model).
        rows, heads, _, _ = query.shape
        groups = heads // key.shape[1]
        out = F.scaled_dot_product_attention(
            query.reshape(rows, key.shape[1], groups, query.shape[-1]),
            key,
            value,
            attn_mask=mask,
            scale=scale,
        )
        return out.reshape(rows, heads, 1, value.shape[-1])
    if softcap is None and sinks is None:
        return F.scaled_dot_product_attention(
            query,
            key,
            value,
            attn_mask=mask,
            is_causal=causal and mask is None,
            scale=scale,
            enable_gqa=gqa,
        )
    if gqa:
        groups = query.shape[1] // key.shape[1]
        key, value = key.repeat_interleave(groups, dim=1), value.repeat_interleave(groups, dim=1)
    scores = torch.matmul(query, key.transpose(2, 3)) * (
        scale if scale is not None else query.shape[-1] ** -0.5
    )
    if softcap is not None:
        scores = torch.tanh(scores / softcap) * softcap
    if mask is None and causal:
        queries, keys = query.shape[2], key.shape[2]
        mask = torch.ones((queries, keys), dtype=torch.bool, device=query.device).tril(
            keys - queries
        )
    if mask is not None:
        # the dtype's lowest rather than -inf: a padding query that sees nothing stays finite
        low = torch.finfo(scores.dtype).min
        scores = scores.masked_fill(~mask, low) if mask.dtype == torch.bool else scores + mask
    if sinks is not None:
        sink = sinks.reshape(1, -1, 1, 1).to(scores.dtype)
        scores = torch.cat([scores, sink.expand(*scores.shape[:-1], 1)], dim=-1)
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(value.dtype)
    if sinks is not None:
        weights = weights[..., :-1]
    return torch.matmul(weights, value)


class ColumnRoom:
    """A layer's batch keys and values (``[rows, heads, columns, dim]``) with room for more
    columns after the last, so that a step writes its column in place instead of copying the
    whole layer into a new tensor (``torch.cat``, as ``DynamicCache.update`` does) every step.

    :attr:`keys` and :attr:`values` are views of the columns the layer holds; when the room is
    used up, the held columns move into a new buffer with room again (one copy every
    :data:`ROOM` steps or more). A batch cache that replaces the layer's tensors (rows joining or
    leaving) makes the next step start a new room (:meth:`holds`).
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        self._keys, self._values = self._with_room(keys), self._with_room(values)
        self._start, self._end = 0, int(keys.shape[2])
        self.keys, self.values = keys, values

    @staticmethod
    def _with_room(tensor: torch.Tensor) -> torch.Tensor:
        rows, heads, columns, dim = tensor.shape
        room = max(ROOM, columns // 4)
        buffer = tensor.new_empty((rows, heads, columns + room, dim))
        buffer[:, :, :columns] = tensor
        return buffer

    def holds(self, keys: torch.Tensor, values: torch.Tensor) -> bool:
        """Whether these are still the layer's tensors this room gave out."""
        return keys is self.keys and values is self.values

    def append(
        self, keys: torch.Tensor, values: torch.Tensor, keep: int | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write one column (``[rows, heads, dim]``); the keys and values to attend to (the held
        columns and the new one). Afterwards the layer holds the last ``keep`` of them (None:
        all)."""
        if self._end == self._keys.shape[2]:
            held = slice(self._start, self._end)
            self._keys = self._with_room(self._keys[:, :, held])
            self._values = self._with_room(self._values[:, :, held])
            self._start, self._end = 0, self._end - self._start
        self._keys[:, :, self._end] = keys
        self._values[:, :, self._end] = values
        self._end += 1
        attended = slice(self._start, self._end)
        out = self._keys[:, :, attended], self._values[:, :, attended]
        if keep is not None and self._end - self._start > keep:  # what the window needs next
            self._start = self._end - keep
        self.keys = self._keys[:, :, self._start : self._end]
        self.values = self._values[:, :, self._start : self._end]
        return out


def _prompt_mask(
    length: int, skip: int, window: int | None, device: torch.device
) -> torch.Tensor | None:
    """Which keys (a cached prefix of ``skip``, then the prompt) each prompt token sees: those
    up to itself and, with a window, the last ``window`` of them. None: plain causal."""
    total = skip + length
    if not skip and (window is None or window >= total):
        return None
    query = torch.arange(skip, total, device=device)[:, None]
    key = torch.arange(total, device=device)[None, :]
    mask = key <= query
    if window is not None:
        mask &= key > query - window
    return mask


def packed_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    softcap: float | None = None,
    s_aux: torch.Tensor | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention for a packed step (see the module docstring); ``[1, tokens, heads, dim]`` out."""
    plan: StepPlan | None = getattr(_local, "plan", None)
    if plan is None:
        if softcap is None and s_aux is None:
            output, weights = sdpa_attention_forward(
                module,
                query,
                key,
                value,
                attention_mask,
                dropout=dropout,
                scaling=scaling,
                **kwargs,
            )
            return output, weights
        out = attend(
            query,
            key,
            value,
            attention_mask,
            scale=scaling,
            causal=attention_mask is None,
            softcap=softcap,
            sinks=s_aux,
        )
        return out.transpose(1, 2).contiguous(), None
    layer = module.layer_idx
    window = plan.windows[layer] if plan.windows else None
    keep = plan.keep[layer] if plan.keep else None
    outputs: list[torch.Tensor] = []
    rows = plan.rows
    if rows:
        assert plan.cache is not None and plan.mask is not None
        cached = plan.cache.layers[layer]
        room = getattr(cached, ROOM_ATTRIBUTE, None)
        if room is None or not room.holds(cached.keys, cached.values):
            # rows joined or left since the last step: the batch cache's tensors are new ones
            room = ColumnRoom(cached.keys, cached.values)
            setattr(cached, ROOM_ATTRIBUTE, room)
        # [1, heads, rows, dim] -> [rows, heads, dim]: each running row's own new column
        keys, values = room.append(
            key[0, :, :rows].transpose(0, 1), value[0, :, :rows].transpose(0, 1), keep
        )
        out = attend(
            query[0, :, :rows].transpose(0, 1).unsqueeze(2),
            keys,
            values,
            plan.mask[..., plan.mask.shape[-1] - keys.shape[2] :],
            scale=scaling,
            softcap=softcap,
            sinks=s_aux,
        )
        cached.keys, cached.values = room.keys, room.values
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
        mask = _prompt_mask(joiner.length, skip, window, query.device)
        out = attend(
            query[:, :, span],
            keys,
            values,
            mask,
            scale=scaling,
            causal=mask is None,
            softcap=softcap,
            sinks=s_aux,
        )
        outputs.append(out.transpose(1, 2))
    return torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0], None


def use_packed_attention(model: Any) -> None:
    """Switch ``model`` to :func:`packed_attention`, or refuse a model it cannot serve."""
    problem = packed_problem(model)
    if problem is not None:
        raise UnsupportedFeatureError(f"packed steps cannot serve this model: {problem}")
    model.set_attn_implementation(NAME)


def packed_problem(model: Any) -> str | None:
    """Why packed steps cannot serve ``model`` (None: they can)."""
    name = type(model).__name__
    can_set = getattr(model, "_can_set_attn_implementation", None)
    if can_set is None or not can_set():
        return f"{name}'s attention does not go through transformers' AttentionInterface"
    parameters = inspect.signature(model.forward).parameters
    missing = [p for p in ("position_ids", "logits_to_keep") if p not in parameters]
    if missing:
        return f"{name}.forward takes no {' or '.join(missing)}"
    try:
        sliding_windows(model.config)
    except UnsupportedFeatureError as exc:
        return str(exc)
    return None


def packed_mask(*args: Any, **kwargs: Any) -> Any:
    """No mask for a packed step (:func:`packed_attention` builds its own); SDPA's otherwise."""
    if getattr(_local, "plan", None) is not None:
        return None
    return sdpa_mask(*args, **kwargs)


AttentionInterface.register(NAME, packed_attention)
AttentionMaskInterface.register(NAME, packed_mask)
