"""Stop strings on decoded text.

Text is released only when no suffix of it could be the start of a stop string: such a suffix is
held back until the following text either completes the stop string (the sequence ends, the stop
string and what follows it are dropped) or rules it out (the held text is released).
"""

from __future__ import annotations


class StopMatcher:
    """Feed text as it is decoded; get back what may be shown, and whether a stop string hit."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Add ``text``; return the part that is safe to show. Sets :attr:`stopped` on a match."""
        if self.stopped:
            return ""
        if not self._stops:
            return text
        pending = self._pending + text
        first = -1
        for stop in self._stops:
            at = pending.find(stop)
            if at != -1 and (first == -1 or at < first):
                first = at
        if first != -1:
            self.stopped = True
            self._pending = ""
            return pending[:first]
        hold = self._longest_partial_match(pending)
        self._pending = pending[len(pending) - hold :] if hold else ""
        return pending[: len(pending) - hold]

    def flush(self) -> str:
        """The held-back text, released when the sequence ends for another reason."""
        pending, self._pending = self._pending, ""
        return "" if self.stopped else pending

    def _longest_partial_match(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that is a proper prefix of a stop string."""
        best = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:size]):
                    best = size
                    break
        return best
