"""The batched KV cache: one row per running sequence, padded to a common number of columns.

Row ``i`` occupies its last ``spans[i]`` columns; the columns before are padding, and
``attention_mask`` marks the real tokens. ``lengths[i]`` counts the real tokens: the position of
the row's next token. Every step appends one column to all rows at once (the attention of a
packed step, :mod:`modelport.engine.attention`, writes it). The rows of newly prefilled prompts
join by left-padding whichever side is shorter; finished rows leave by
index selection, and leading columns that no row spans any more are cropped, so the cache holds
``rows * max(spans)`` token slots.

:class:`PrefixStore` keeps the keys and values of prompt prefixes that several prompts shared
(typically a chat template's system prompt), so that later prompts starting the same way only
prefill the rest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from modelport.errors import UnsupportedFeatureError


def kv_bytes_per_token(config: Any, dtype: torch.dtype) -> int:
    """Bytes of keys and values that one token occupies across all layers."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    heads = text_config.num_attention_heads
    kv_heads = getattr(text_config, "num_key_value_heads", None) or heads
    head_dim = getattr(text_config, "head_dim", None) or text_config.hidden_size // heads
    element = torch.empty((), dtype=dtype).element_size()
    return 2 * text_config.num_hidden_layers * kv_heads * head_dim * element


def new_cache(config: Any) -> DynamicCache:
    """An empty cache whose rows this module knows how to pad, select and crop."""
    cache = DynamicCache(config=config)
    if any(type(layer) is not DynamicLayer for layer in cache.layers):
        raise UnsupportedFeatureError(
            "the batching engine supports models with plain (full) attention caches only; "
            "this model uses sliding-window or other special cache layers"
        )
    return cache


def _layers(cache: DynamicCache) -> list[Any]:
    return list(cache.layers)


def _set(layer: Any, keys: torch.Tensor, values: torch.Tensor) -> None:
    layer.keys, layer.values = keys, values
    layer.dtype, layer.device = keys.dtype, keys.device
    layer.is_initialized = True


@dataclass
class Prefix:
    """The keys and values of a prompt prefix, one ``[1, heads, tokens, dim]`` pair per layer."""

    tokens: tuple[int, ...]
    keys: list[torch.Tensor]
    values: list[torch.Tensor]


class PrefixStore:
    """Prefixes shared by recent prompts, least recently used first out.

    A prompt whose first ``min_tokens`` or more tokens equal those of one of the last few
    prompts marks that common prefix as worth keeping; its keys and values are copied out of the
    prompt's prefill and reused by later prompts that start with it.
    """

    def __init__(self, *, capacity: int = 8, min_tokens: int = 8, history: int = 16) -> None:
        self.capacity = capacity
        self.min_tokens = min_tokens
        self._history = history
        self._recent: list[tuple[int, ...]] = []
        self._entries: OrderedDict[tuple[int, ...], Prefix] = OrderedDict()
        self.hits = 0
        self.tokens_saved = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, prompt: Sequence[int]) -> Prefix | None:
        """The longest stored prefix of ``prompt`` that leaves at least one token to prefill."""
        best: Prefix | None = None
        for tokens, entry in self._entries.items():
            size = len(tokens)
            longer = best is None or size > len(best.tokens)
            if size < len(prompt) and longer and tuple(prompt[:size]) == tokens:
                best = entry
        if best is not None:
            self._entries.move_to_end(best.tokens)
            self.hits += 1
            self.tokens_saved += len(best.tokens)
        return best

    def worth_keeping(self, prompt: Sequence[int]) -> int:
        """Length of the longest prefix this prompt shares with a recent one (0: none worth it)."""
        prompt_tuple = tuple(prompt)
        best = 0
        for other in self._recent:
            common = 0
            for a, b in zip(other, prompt_tuple, strict=False):
                if a != b:
                    break
                common += 1
            best = max(best, min(common, len(prompt_tuple) - 1))
        self._recent = [*self._recent[-(self._history - 1) :], prompt_tuple]
        if best < self.min_tokens or prompt_tuple[:best] in self._entries:
            return 0
        return best

    def keep(
        self, tokens: tuple[int, ...], keys: list[torch.Tensor], values: list[torch.Tensor]
    ) -> None:
        self._entries[tokens] = Prefix(tokens, keys, values)
        self._entries.move_to_end(tokens)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


class BatchCache:
    """A :class:`DynamicCache` plus the attention mask, the per-row spans and token counts."""

    def __init__(self, cache: DynamicCache, attention_mask: torch.Tensor) -> None:
        self.cache = cache
        self.attention_mask = attention_mask  # [rows, columns], 1 = real token
        self.lengths: list[int] = attention_mask.sum(dim=1).tolist()
        columns = attention_mask.shape[1]
        first_real = attention_mask.to(torch.int8).argmax(dim=1).tolist()
        self.spans: list[int] = [columns - first for first in first_real]

    @classmethod
    def stack(
        cls, config: Any, rows: Sequence[tuple[list[torch.Tensor], list[torch.Tensor]]]
    ) -> BatchCache:
        """A cache of the given rows (keys and values per layer, ``[1, heads, tokens, dim]``),
        each left-padded to the longest."""
        spans = [keys[0].shape[2] for keys, _ in rows]
        width = max(spans)
        cache = new_cache(config)
        for index, layer in enumerate(_layers(cache)):
            _set(
                layer,
                torch.cat(
                    [
                        F.pad(keys[index], (0, 0, width - n, 0))
                        for (keys, _), n in zip(rows, spans, strict=True)
                    ]
                ),
                torch.cat(
                    [
                        F.pad(values[index], (0, 0, width - n, 0))
                        for (_, values), n in zip(rows, spans, strict=True)
                    ]
                ),
            )
        device = rows[0][0][0].device
        mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
        for row, n in enumerate(spans):
            mask[row, width - n :] = 1
        return cls(cache, mask)

    @property
    def rows(self) -> int:
        return int(self.attention_mask.shape[0])

    @property
    def columns(self) -> int:
        return int(self.attention_mask.shape[1])

    def tokens_held(self) -> int:
        """Token slots held (padding included): what the cache's memory is proportional to."""
        return self.rows * self.columns

    def append_column(self) -> None:
        """Account for the token that the next forward pass writes into every row."""
        ones = torch.ones(
            (self.rows, 1), dtype=self.attention_mask.dtype, device=self.attention_mask.device
        )
        self.attention_mask = torch.cat([self.attention_mask, ones], dim=1)
        self.lengths = [n + 1 for n in self.lengths]
        self.spans = [n + 1 for n in self.spans]

    def row_slice(
        self, row: int, start: int, size: int
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Copies of the keys and values of ``size`` tokens of ``row``, from ``start`` in its span."""
        column = self.columns - self.spans[row] + start
        keys, values = [], []
        for layer in _layers(self.cache):
            keys.append(layer.keys[row : row + 1, :, column : column + size, :].clone())
            values.append(layer.values[row : row + 1, :, column : column + size, :].clone())
        return keys, values

    def repeat_rows(self, repeats: list[int]) -> None:
        """Repeat row ``i`` ``repeats[i]`` times (n sequences sharing one prompt's prefill)."""
        if all(r == 1 for r in repeats):
            return
        index = torch.repeat_interleave(torch.arange(self.rows), torch.tensor(repeats))
        self.select(index.tolist())

    def select(self, keep: list[int]) -> None:
        """Keep only the rows in ``keep`` (in that order), then crop columns no row spans."""
        index = torch.tensor(keep, dtype=torch.long, device=self.attention_mask.device)
        extra = self.columns - max((self.spans[i] for i in keep), default=0)
        for layer in _layers(self.cache):
            if layer.is_initialized and layer.keys.numel():
                keys = layer.keys.index_select(0, index)
                values = layer.values.index_select(0, index)
                if extra > 0:
                    keys, values = (
                        keys[:, :, extra:, :].contiguous(),
                        values[:, :, extra:, :].contiguous(),
                    )
                layer.keys, layer.values = keys, values
        self.attention_mask = self.attention_mask.index_select(0, index)[:, max(extra, 0) :]
        self.lengths = [self.lengths[i] for i in keep]
        self.spans = [self.spans[i] for i in keep]

    def extend(self, other: BatchCache) -> None:
        """Append the rows of ``other`` below this cache's rows, padding on the left as needed."""
        columns = max(self.columns, other.columns)
        mine, theirs = columns - self.columns, columns - other.columns
        for layer, new in zip(_layers(self.cache), _layers(other.cache), strict=True):
            keys = torch.cat(
                [F.pad(layer.keys, (0, 0, mine, 0)), F.pad(new.keys, (0, 0, theirs, 0))]
            )
            values = torch.cat(
                [F.pad(layer.values, (0, 0, mine, 0)), F.pad(new.values, (0, 0, theirs, 0))]
            )
            _set(layer, keys, values)
        self.attention_mask = torch.cat(
            [F.pad(self.attention_mask, (mine, 0)), F.pad(other.attention_mask, (theirs, 0))], dim=0
        )
        self.lengths = self.lengths + other.lengths
        self.spans = self.spans + other.spans
