"""The batched KV cache: one row per running sequence, padded to a common number of columns.

Row ``i`` occupies its last ``spans[i]`` columns; the columns before are padding, and
``attention_mask`` marks the real tokens. ``lengths[i]`` counts the real tokens: the position of
the row's next token. Every step appends one column to all rows at once (the attention of a
packed step, :mod:`modelport.engine.attention`, writes it). The rows of newly prefilled prompts
join by left-padding whichever side is shorter; finished rows leave by
index selection, and leading columns that no row spans any more are cropped, so a full-attention
layer holds ``rows * max(spans)`` token slots and a sliding-window layer at most ``rows * (window
- 1)`` (:class:`KVLayout`).

:class:`PrefixStore` keeps the keys and values of prompt prefixes that several prompts shared
(typically a chat template's system prompt), so that later prompts starting the same way only
prefill the rest.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

from modelport.errors import UnsupportedFeatureError


def kv_bytes_per_token(config: Any, dtype: torch.dtype) -> int:
    """Bytes of keys and values that one token occupies across all layers, by the config's
    head counts (:class:`KVLayout` measures them instead)."""
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    heads = text_config.num_attention_heads
    kv_heads = getattr(text_config, "num_key_value_heads", None) or heads
    head_dim = getattr(text_config, "head_dim", None) or text_config.hidden_size // heads
    element = torch.empty((), dtype=dtype).element_size()
    return 2 * text_config.num_hidden_layers * kv_heads * head_dim * element


def sliding_windows(config: Any) -> list[int | None]:
    """Each layer's sliding window as transformers' own cache would keep it (None: full
    attention), or ``UnsupportedFeatureError`` for cache layers that are neither."""
    text_config = config.get_text_config(decoder=True)
    layer_types = getattr(text_config, "layer_types", None) or []
    if "chunked_attention" in layer_types or (
        not layer_types
        and getattr(text_config, "sliding_window", None) is None
        and getattr(text_config, "attention_chunk_size", None) is not None
    ):
        # its cache keeps them as sliding windows, but a chunk's tokens see only their chunk
        raise UnsupportedFeatureError("it has chunked attention layers, which packed steps lack")
    try:
        layers = DynamicCache(config=config).layers
    except Exception as exc:  # a layer type this transformers does not know
        raise UnsupportedFeatureError(
            f"transformers builds no cache for its config ({exc})"
        ) from exc
    windows: list[int | None] = []
    for layer in layers:
        if type(layer) is DynamicLayer:
            windows.append(None)
        elif type(layer) is DynamicSlidingWindowLayer:
            windows.append(int(layer.sliding_window))
        else:
            raise UnsupportedFeatureError(
                f"its cache has {type(layer).__name__} layers, which packed steps do not keep"
            )
    return windows


@dataclass(frozen=True)
class KVLayout:
    """What each layer keeps of a row: how many columns (``None``: all of them; a sliding
    window of ``w`` keeps the last ``w - 1`` between steps, as transformers' cache does) and
    the bytes of keys and values one column costs in it (measured on a real forward pass)."""

    keep: tuple[int | None, ...]
    column_bytes: tuple[int, ...]
    fixed: int = 0  # bytes a row holds whatever its length (a recurrent state)

    @classmethod
    def full(cls, column_bytes: Sequence[int]) -> KVLayout:
        return cls((None,) * len(column_bytes), tuple(column_bytes))

    @classmethod
    def windowed(cls, windows: Sequence[int | None], column_bytes: Sequence[int]) -> KVLayout:
        keep = tuple(None if w is None else max(w - 1, 1) for w in windows)
        return cls(keep, tuple(column_bytes))

    def row_bytes(self, columns: int) -> int:
        """Bytes one row spanning ``columns`` columns holds across the layers."""
        return self.fixed + sum(
            size * (columns if keep is None else min(columns, keep))
            for keep, size in zip(self.keep, self.column_bytes, strict=True)
        )

    def width(self, layer: int, columns: int) -> int:
        """Columns ``layer`` holds of a batch ``columns`` wide."""
        keep = self.keep[layer]
        return columns if keep is None else min(columns, keep)


def new_cache(layers: int) -> DynamicCache:
    """An empty cache of ``layers`` plain layers (the batch cache crops sliding ones itself)."""
    cache = DynamicCache()
    cache.layers = [DynamicLayer() for _ in range(layers)]
    return cache


def _layers(cache: DynamicCache) -> list[Any]:
    return list(cache.layers)


# The attribute in which a packed step keeps a layer's ColumnRoom (``attention.py``): the layer's
# tensors with room for the next columns.
ROOM_ATTRIBUTE = "modelport_room"


def _set(layer: Any, keys: torch.Tensor, values: torch.Tensor) -> None:
    layer.keys, layer.values = keys, values
    layer.dtype, layer.device = keys.dtype, keys.device
    layer.is_initialized = True
    # the room held the tensors these replace: free it now, not at the next step's rebuild
    layer.__dict__.pop(ROOM_ATTRIBUTE, None)


def _last(tensor: torch.Tensor, columns: int) -> torch.Tensor:
    """The last ``columns`` columns of a ``[rows, heads, columns, dim]`` tensor."""
    if tensor.shape[2] <= columns:
        return tensor
    return tensor[:, :, tensor.shape[2] - columns :, :].contiguous()


def _pad_left(tensor: torch.Tensor, columns: int) -> torch.Tensor:
    return (
        F.pad(tensor, (0, 0, columns - tensor.shape[2], 0)) if tensor.shape[2] < columns else tensor
    )


@dataclass
class Prefix:
    """The keys and values of a prompt prefix, one ``[1, heads, tokens, dim]`` pair per layer."""

    tokens: tuple[int, ...]
    keys: list[torch.Tensor]
    values: list[torch.Tensor]

    @property
    def alive(self) -> bool:
        """Still usable (a runner may drop the cells behind a prefix to make room)."""
        return True


class PrefixStore:
    """Prefixes shared by recent prompts, least recently used first out.

    A prompt whose first ``min_tokens`` or more tokens equal those of one of the last few
    prompts marks that common prefix as worth keeping; its keys and values are copied out of the
    prompt's prefill and reused by later prompts that start with it.
    """

    def __init__(
        self,
        *,
        capacity: int = 8,
        min_tokens: int = 8,
        history: int = 16,
        on_evict: Callable[[Prefix], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self._on_evict = on_evict  # told of each prefix that leaves the store
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
        for tokens in [t for t, entry in self._entries.items() if not entry.alive]:
            del self._entries[tokens]
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
        self.add(Prefix(tokens, keys, values))

    def add(self, prefix: Prefix) -> None:
        """Store ``prefix``, evicting the least recently used beyond the capacity."""
        self._entries[prefix.tokens] = prefix
        self._entries.move_to_end(prefix.tokens)
        while len(self._entries) > self.capacity:
            _, evicted = self._entries.popitem(last=False)
            if self._on_evict is not None:
                self._on_evict(evicted)


class BatchCache:
    """A :class:`DynamicCache` plus the attention mask, the per-row spans and token counts.

    A layer with a sliding window holds only the last columns its window needs
    (:class:`KVLayout`): rows are aligned on their last column, so the same columns serve all
    rows, and its mask is the last columns of :attr:`attention_mask`.
    """

    def __init__(self, cache: DynamicCache, attention_mask: torch.Tensor, layout: KVLayout) -> None:
        self.cache = cache
        self.layout = layout
        self.attention_mask = attention_mask  # [rows, columns], 1 = real token
        self.lengths: list[int] = attention_mask.sum(dim=1).tolist()
        columns = attention_mask.shape[1]
        first_real = attention_mask.to(torch.int8).argmax(dim=1).tolist()
        self.spans: list[int] = [columns - first for first in first_real]

    @classmethod
    def stack(
        cls, layout: KVLayout, rows: Sequence[tuple[list[torch.Tensor], list[torch.Tensor]]]
    ) -> BatchCache:
        """A cache of the given rows (keys and values per layer, ``[1, heads, tokens, dim]``),
        each left-padded to the longest, each layer cropped to what it keeps."""
        spans = [keys[0].shape[2] for keys, _ in rows]
        width = max(spans)
        cache = new_cache(len(layout.keep))
        for index, layer in enumerate(_layers(cache)):
            kept = layout.width(index, width)
            _set(
                layer,
                torch.cat([_pad_left(_last(keys[index], kept), kept) for keys, _ in rows]),
                torch.cat([_pad_left(_last(values[index], kept), kept) for _, values in rows]),
            )
        device = rows[0][0][0].device
        mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
        for row, n in enumerate(spans):
            mask[row, width - n :] = 1
        return cls(cache, mask, layout)

    @property
    def rows(self) -> int:
        return int(self.attention_mask.shape[0])

    @property
    def columns(self) -> int:
        return int(self.attention_mask.shape[1])

    def bytes_held(self) -> int:
        """Bytes of keys and values held (padding included)."""
        return sum(
            layer.keys.nbytes + layer.values.nbytes
            for layer in _layers(self.cache)
            if layer.is_initialized
        )

    def append_column(self) -> None:
        """Account for the token that the next forward pass writes into every row."""
        ones = torch.ones(
            (self.rows, 1), dtype=self.attention_mask.dtype, device=self.attention_mask.device
        )
        self.attention_mask = torch.cat([self.attention_mask, ones], dim=1)
        self.lengths = [n + 1 for n in self.lengths]
        self.spans = [n + 1 for n in self.spans]

    def repeat_rows(self, repeats: list[int]) -> None:
        """Repeat row ``i`` ``repeats[i]`` times (n sequences sharing one prompt's prefill)."""
        if all(r == 1 for r in repeats):
            return
        index = torch.repeat_interleave(torch.arange(self.rows), torch.tensor(repeats))
        self.select(index.tolist())

    def select(self, keep: list[int]) -> None:
        """Keep only the rows in ``keep`` (in that order), then crop columns no row spans."""
        index = torch.tensor(keep, dtype=torch.long, device=self.attention_mask.device)
        columns = max((self.spans[i] for i in keep), default=0)
        for layer in _layers(self.cache):
            if layer.is_initialized and layer.keys.numel():
                _set(
                    layer,
                    _last(layer.keys.index_select(0, index), columns),
                    _last(layer.values.index_select(0, index), columns),
                )
        self.attention_mask = self.attention_mask.index_select(0, index)[
            :, max(self.columns - columns, 0) :
        ]
        self.lengths = [self.lengths[i] for i in keep]
        self.spans = [self.spans[i] for i in keep]

    def extend(self, other: BatchCache) -> None:
        """Append the rows of ``other`` below this cache's rows, padding on the left as needed."""
        columns = max(self.columns, other.columns)
        mine, theirs = columns - self.columns, columns - other.columns
        for layer, new in zip(_layers(self.cache), _layers(other.cache), strict=True):
            width = max(layer.keys.shape[2], new.keys.shape[2])
            keys = torch.cat([_pad_left(layer.keys, width), _pad_left(new.keys, width)])
            values = torch.cat([_pad_left(layer.values, width), _pad_left(new.values, width)])
            _set(layer, keys, values)
        self.attention_mask = torch.cat(
            [F.pad(self.attention_mask, (mine, 0)), F.pad(other.attention_mask, (theirs, 0))], dim=0
        )
        self.lengths = self.lengths + other.lengths
        self.spans = self.spans + other.spans
