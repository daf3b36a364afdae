"""The batched KV cache: one row per running sequence, left-padded to a common length.

Rows are right-aligned: the cached tokens of row ``i`` fill the last ``lengths[i]`` columns and
the columns before them are padding, masked out by ``attention_mask``. Every decode step appends
one column to all rows at once. A newly prefilled group joins by left-padding whichever side is
shorter; finished rows leave by index selection, and leading columns that no row needs any more
are cropped, so the cache never holds more than ``rows * max(lengths)`` tokens.
"""

from __future__ import annotations

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


class BatchCache:
    """A :class:`DynamicCache` plus the attention mask and the per-row token counts."""

    def __init__(self, cache: DynamicCache, attention_mask: torch.Tensor) -> None:
        self.cache = cache
        self.attention_mask = attention_mask  # [rows, columns], 1 = real token
        self.lengths: list[int] = attention_mask.sum(dim=1).tolist()

    def _layers(self) -> list[Any]:
        return list(self.cache.layers)

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
        ones = torch.ones((self.rows, 1), dtype=self.attention_mask.dtype)
        self.attention_mask = torch.cat([self.attention_mask, ones], dim=1)
        self.lengths = [n + 1 for n in self.lengths]

    def repeat_rows(self, repeats: list[int]) -> None:
        """Repeat row ``i`` ``repeats[i]`` times (n sequences sharing one prompt's prefill)."""
        if all(r == 1 for r in repeats):
            return
        index = torch.repeat_interleave(torch.arange(self.rows), torch.tensor(repeats))
        self.select(index.tolist())

    def select(self, keep: list[int]) -> None:
        """Keep only the rows in ``keep`` (in that order), then crop columns no row needs."""
        index = torch.tensor(keep, dtype=torch.long)
        for layer in self._layers():
            if layer.is_initialized and layer.keys.numel():
                layer.keys = layer.keys.index_select(0, index)
                layer.values = layer.values.index_select(0, index)
        self.attention_mask = self.attention_mask.index_select(0, index)
        self.lengths = [self.lengths[i] for i in keep]
        self._crop_front()

    def _crop_front(self) -> None:
        needed = max(self.lengths, default=0)
        extra = self.columns - needed
        if extra <= 0:
            return
        for layer in self._layers():
            if layer.is_initialized and layer.keys.numel():
                layer.keys = layer.keys[:, :, extra:, :].contiguous()
                layer.values = layer.values[:, :, extra:, :].contiguous()
        self.attention_mask = self.attention_mask[:, extra:]

    def extend(self, other: BatchCache) -> None:
        """Append the rows of ``other`` below this cache's rows, padding on the left as needed."""
        columns = max(self.columns, other.columns)
        mine, theirs = columns - self.columns, columns - other.columns
        for layer, new in zip(self._layers(), other._layers(), strict=True):
            if not (layer.is_initialized and layer.keys.numel()):
                layer.keys = F.pad(new.keys, (0, 0, theirs, 0))
                layer.values = F.pad(new.values, (0, 0, theirs, 0))
                layer.dtype, layer.device = new.dtype, new.device
                layer.is_initialized = True
                continue
            layer.keys = torch.cat(
                [F.pad(layer.keys, (0, 0, mine, 0)), F.pad(new.keys, (0, 0, theirs, 0))], dim=0
            )
            layer.values = torch.cat(
                [F.pad(layer.values, (0, 0, mine, 0)), F.pad(new.values, (0, 0, theirs, 0))], dim=0
            )
        self.attention_mask = torch.cat(
            [F.pad(self.attention_mask, (mine, 0)), F.pad(other.attention_mask, (theirs, 0))], dim=0
        )
        self.lengths = self.lengths + other.lengths
