from __future__ import annotations

from typing import Any

import pytest
import torch

from modelport.engine.cache import (
    BatchCache,
    KVLayout,
    PrefixStore,
    kv_bytes_per_token,
    new_cache,
    sliding_windows,
)
from modelport.errors import UnsupportedFeatureError


def filled_cache(config: Any, mask: torch.Tensor, layout: KVLayout | None = None) -> BatchCache:
    """A batch cache whose key at (row, column) holds 100 * row + column, for every layer
    (each layer holding the last columns its layout keeps)."""
    layout = layout or KVLayout.full([1] * config.num_hidden_layers)
    cache = new_cache(config.num_hidden_layers)
    rows, columns = mask.shape
    heads = config.num_key_value_heads
    dim = config.hidden_size // config.num_attention_heads
    marks = (100 * torch.arange(rows)[:, None] + torch.arange(columns)[None, :]).float()
    for index, layer in enumerate(cache.layers):
        kept = layout.width(index, columns)
        layer.keys = marks[:, None, columns - kept :, None].expand(rows, heads, kept, dim).clone()
        layer.values = layer.keys.clone()
        layer.dtype, layer.device, layer.is_initialized = torch.float32, torch.device("cpu"), True
    return BatchCache(cache, mask, layout)


def key_marks(batch: BatchCache, layer: int = 0) -> list[list[int]]:
    return batch.cache.layers[layer].keys[:, 0, :, 0].long().tolist()


def test_bytes_per_token_counts_keys_and_values_of_every_layer(tiny_model: Any) -> None:
    config = tiny_model.config
    head_dim = config.hidden_size // config.num_attention_heads
    expected = 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim * 4
    assert kv_bytes_per_token(config, torch.float32) == expected


def test_spans_lengths_and_crop_after_rows_leave(tiny_model: Any) -> None:
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1], [0, 0, 0, 1]])
    batch = filled_cache(tiny_model.config, mask)
    assert batch.lengths == [2, 4, 1]
    assert batch.spans == [2, 4, 1]
    batch.select([0, 2])  # the long row leaves: two leading columns are no longer needed
    assert batch.columns == 2
    assert key_marks(batch) == [[2, 3], [202, 203]]
    assert batch.attention_mask.tolist() == [[1, 1], [0, 1]]
    layer_bytes = batch.cache.layers[0].keys[0, :, 0].nbytes * 2
    assert batch.bytes_held() == 4 * tiny_model.config.num_hidden_layers * layer_bytes


def test_extend_pads_the_shorter_side_on_the_left(tiny_model: Any) -> None:
    batch = filled_cache(tiny_model.config, torch.tensor([[1, 1]]))
    other = filled_cache(tiny_model.config, torch.tensor([[0, 1, 1]]))
    batch.extend(other)
    assert batch.attention_mask.tolist() == [[0, 1, 1], [0, 1, 1]]
    assert key_marks(batch) == [[0, 0, 1], [0, 1, 2]]
    assert batch.spans == [2, 2]
    batch.append_column()
    assert (batch.lengths, batch.spans, batch.columns) == ([3, 3], [3, 3], 4)


def test_repeat_rows_copies_a_prompt_for_n_sequences(tiny_model: Any) -> None:
    batch = filled_cache(tiny_model.config, torch.tensor([[1, 1], [0, 1]]))
    batch.repeat_rows([1, 3])
    assert batch.rows == 4
    assert key_marks(batch) == [[0, 1], [100, 101], [100, 101], [100, 101]]


def test_a_row_with_a_hole_keeps_its_whole_span(tiny_model: Any) -> None:
    # A prefix, then padding, then the rest of the prompt: the span starts at the prefix.
    batch = filled_cache(tiny_model.config, torch.tensor([[1, 0, 1], [1, 1, 1]]))
    assert batch.lengths == [2, 3]
    assert batch.spans == [3, 3]
    batch.select([0])
    assert batch.columns == 3
    assert key_marks(batch) == [[0, 1, 2]]


def test_a_sliding_window_layer_keeps_only_its_window(tiny_model: Any) -> None:
    # layer 0 full, layer 1 with a window of 3: it keeps the last 2 columns, aligned on the
    # rows' last column like the full layer's
    layout = KVLayout.windowed([None, 3], [1, 1])
    batch = filled_cache(tiny_model.config, torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]]), layout)
    assert key_marks(batch, 1) == [[2, 3], [102, 103]]
    other = filled_cache(tiny_model.config, torch.tensor([[1]]), layout)
    batch.extend(other)  # a one-token row joins: padded to the window's two columns
    assert key_marks(batch, 0) == [[0, 1, 2, 3], [100, 101, 102, 103], [0, 0, 0, 0]]
    assert key_marks(batch, 1) == [[2, 3], [102, 103], [0, 0]]
    batch.select([0, 2])  # the long row leaves: three columns are left, the window keeps two
    assert key_marks(batch, 0) == [[1, 2, 3], [0, 0, 0]]
    assert key_marks(batch, 1) == [[2, 3], [0, 0]]
    batch.select([1])
    assert (batch.columns, key_marks(batch, 0), key_marks(batch, 1)) == (1, [[0]], [[0]])
    assert layout.row_bytes(10) == 10 + 2


def test_sliding_windows_follow_the_models_own_cache(make_tiny_causal_lm: Any) -> None:
    assert sliding_windows(make_tiny_causal_lm("mistral").config) == [4, 4]
    assert sliding_windows(make_tiny_causal_lm("gemma3_text").config) == [4, None]
    assert sliding_windows(make_tiny_causal_lm("llama").config) == [None, None]
    # transformers' cache keeps a chunk as a window, but chunked attention is not a window
    with pytest.raises(UnsupportedFeatureError, match="chunked attention"):
        sliding_windows(make_tiny_causal_lm("llama4_text").config)
    with pytest.raises(UnsupportedFeatureError, match="LinearAttentionLayer"):
        sliding_windows(make_tiny_causal_lm("mamba").config)


def test_prefix_store_keeps_what_recent_prompts_shared() -> None:
    store = PrefixStore(min_tokens=3)
    system = [7, 8, 9, 10]
    assert store.worth_keeping([*system, 1, 2]) == 0  # nothing seen before
    assert store.worth_keeping([*system, 3]) == 4
    assert store.worth_keeping([5, 6, 1]) == 0  # shares nothing
    empty = [torch.zeros(1, 1, 4, 2)]
    store.keep(tuple(system), empty, empty)
    hit = store.lookup([*system, 4, 4])
    assert hit is not None
    assert hit.tokens == tuple(system)
    assert store.lookup(system) is None  # would leave nothing to prefill
    assert store.lookup([7, 8, 1]) is None
    assert (store.hits, store.tokens_saved) == (1, 4)
    assert store.worth_keeping([*system, 9]) == 0  # already kept


def test_prefix_store_forgets_the_least_recently_used() -> None:
    store = PrefixStore(capacity=2, min_tokens=1)
    empty = [torch.zeros(1, 1, 1, 2)]
    for first in (1, 2, 3):
        store.keep((first,), empty, empty)
    assert len(store) == 2
    assert store.lookup([1, 5]) is None
    assert store.lookup([3, 5]) is not None


def test_rows_joining_or_leaving_free_the_rooms_of_the_tensors_they_replace(
    tiny_model: Any,
) -> None:
    import weakref

    from modelport.engine.attention import ColumnRoom
    from modelport.engine.cache import ROOM_ATTRIBUTE

    batch = filled_cache(tiny_model.config, torch.tensor([[0, 1, 1], [1, 1, 1]]))
    other = filled_cache(tiny_model.config, torch.tensor([[1, 1]]))
    for change in (lambda: batch.select([1]), lambda: batch.extend(other)):
        rooms = []
        for layer in batch.cache.layers:  # as a packed step leaves each layer
            room = ColumnRoom(layer.keys, layer.values)
            setattr(layer, ROOM_ATTRIBUTE, room)
            layer.keys, layer.values = room.keys, room.values
            rooms.append(weakref.ref(room))
            del room
        change()
        assert all(not hasattr(layer, ROOM_ATTRIBUTE) for layer in batch.cache.layers)
        assert all(ref() is None for ref in rooms)  # their buffers are gone with them
