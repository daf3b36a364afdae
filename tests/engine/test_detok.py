from __future__ import annotations

from typing import Any

from modelport.engine.detok import IncrementalDetokenizer

TEXT = "Café 🙂 naïve 世界 — done."


def test_pieces_join_to_the_full_decoding(tokenizer: Any) -> None:
    ids = tokenizer.encode(TEXT)
    detok = IncrementalDetokenizer(tokenizer)
    pieces = [detok.add(token) for token in ids] + [detok.flush()]
    assert "".join(pieces) == tokenizer.decode(ids) == TEXT


def test_never_emits_a_partial_character(tokenizer: Any) -> None:
    ids = tokenizer.encode(TEXT)
    # The test is only meaningful if some character spans several tokens.
    assert any("\ufffd" in tokenizer.decode([token]) for token in ids)
    detok = IncrementalDetokenizer(tokenizer)
    pieces = [detok.add(token) for token in ids]
    assert all("\ufffd" not in piece for piece in pieces)
    assert "" in pieces  # held back while the character was incomplete


def test_keeps_spaces_between_words(tokenizer: Any) -> None:
    ids = tokenizer.encode("one two three")
    detok = IncrementalDetokenizer(tokenizer)
    assert "".join(detok.add(token) for token in ids) == "one two three"


def test_flush_releases_an_incomplete_tail(tokenizer: Any) -> None:
    ids = tokenizer.encode("🙂")
    detok = IncrementalDetokenizer(tokenizer)
    assert [detok.add(token) for token in ids[:-1]] == [""] * (len(ids) - 1)
    assert detok.flush() != ""
