"""Incremental detokenization: turn a growing list of token ids into text, piece by piece.

Decoding one token at a time is wrong for byte-level tokenizers (a multi-byte character may span
several tokens) and for tokenizers that drop a leading space when a piece is decoded alone. So the
text of the new tokens is taken as the difference between the decoding of a short window ending
with them and the decoding of the same window without them; the window slides forward once a
piece of text has been released. Text is held back while it ends in U+FFFD, the replacement
character that an incomplete UTF-8 sequence decodes to.
"""

from __future__ import annotations

from typing import Any

_INCOMPLETE = "\ufffd"


class IncrementalDetokenizer:
    """Decode tokens as they arrive; :meth:`add` returns only text that is safe to show."""

    def __init__(self, tokenizer: Any, *, skip_special_tokens: bool = True) -> None:
        self._tokenizer = tokenizer
        self._skip_special = skip_special_tokens
        self._ids: list[int] = []
        # _ids[_window_start:_released_until] has been decoded and released already.
        self._window_start = 0
        self._released_until = 0

    def _decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(
            ids,
            skip_special_tokens=self._skip_special,
            clean_up_tokenization_spaces=False,
        )
        return text

    def add(self, token_id: int) -> str:
        """Take one more token; return the new text it completes ("" while incomplete)."""
        self._ids.append(token_id)
        before = self._decode(self._ids[self._window_start : self._released_until])
        after = self._decode(self._ids[self._window_start :])
        if after.endswith(_INCOMPLETE) or len(after) <= len(before):
            return ""
        new_text = after[len(before) :]
        self._window_start = self._released_until
        self._released_until = len(self._ids)
        return new_text

    def flush(self) -> str:
        """Release what is still held back (at the end of a sequence), replacement chars included."""
        if self._released_until == len(self._ids):
            return ""
        before = self._decode(self._ids[self._window_start : self._released_until])
        after = self._decode(self._ids[self._window_start :])
        self._window_start = self._released_until = len(self._ids)
        return after[len(before) :] if after.startswith(before) else after
