"""Choosing torch's thread count while the engine runs.

On a small CPU the best number of intra-op threads depends on what else runs: on an idle 2-core
machine two OpenMP threads decode a batch of 16 about a third faster than one, but as soon as
another process (or the server's own event loop) wants a core, every OpenMP barrier waits for a
descheduled thread and two threads become 2-4x slower than one. So the engine measures: every
``every`` decode steps it runs a few steps with the other candidate count and a few with the
current one, compares their median step times, and keeps the faster (switching only for a clear
gain). Each probe that confirms the current count doubles the interval to the next (up to
1,536 steps); a switch, or a batch that grew or shrank by more than a quarter since the last
probe, brings it back to ``every``.
"""

from __future__ import annotations

import logging
import os
import statistics
import threading
from collections.abc import Callable
from typing import TypeVar

import torch

logger = logging.getLogger(__name__)

T = TypeVar("T")

_PROBE_STEPS = 3  # steps per count in a probe; the first of each is a warm-up, not timed
_MOST_EVERY = 1536  # the longest interval between probes, in decode steps
_GAIN = 0.95  # switch when the other count's median step time is below 95% of the current one's


def _changed(before: int, now: int) -> bool:
    """Whether the batch went from ``before`` rows to ``now`` by more than a quarter (or 1)."""
    return abs(now - before) > max(1, before // 4)


def candidate_counts(configured: int | None) -> list[int]:
    """The thread counts to choose between; one count means no tuning."""
    if configured is not None:
        return [configured]
    if os.environ.get("OMP_NUM_THREADS"):
        return [torch.get_num_threads()]
    cores = os.cpu_count() or 1
    return [max(1, cores - 1), cores] if cores > 1 else [1]


class ThreadTuner:
    """Call :meth:`before_step` and :meth:`after_step` around each decode step, and
    :meth:`before_prefill` before a prefill, on the thread that runs the model (OpenMP's thread
    count is a per-thread setting)."""

    def __init__(self, counts: list[int], *, every: int = 48) -> None:
        self.counts = counts
        self.current = counts[0]
        self.every = every  # decode steps between probes: doubles while probes confirm
        self._first_every = every
        self.switches = 0
        self._countdown = 4  # probe early: the first requests decide the start
        self._plan: list[int] = []
        self._times: dict[int, list[float]] = {}
        self._warm: dict[int, bool] = {}
        self._rows_at_start = 0
        self._rows_probed = 0  # the batch size of the last completed probe
        self._applied: int | None = None

    def before_prefill(self) -> None:
        """Before a step that prefills (not timed): the count a running probe wants, if any."""
        self._apply(self._plan[0] if self._plan else self.current)

    def _apply(self, count: int) -> None:
        if count != self._applied:
            torch.set_num_threads(count)
            self._applied = count

    def before_step(self, rows: int) -> None:
        if len(self.counts) > 1 and not self._plan:
            if _changed(self._rows_probed, rows) and self.every > self._first_every:
                # what the last probes confirmed was for another batch size: probe again soon
                self.every = self._first_every
                self._countdown = min(self._countdown, self.every)
            self._countdown -= 1
            if self._countdown <= 0:
                other = next(c for c in self.counts if c != self.current)
                self._plan = [other] * _PROBE_STEPS + [self.current] * _PROBE_STEPS
                self._times = {other: [], self.current: []}
                self._warm = {other: False, self.current: False}
                self._rows_at_start = rows
        self._apply(self._plan[0] if self._plan else self.current)

    def after_step(self, rows: int, seconds: float) -> None:
        if not self._plan:
            return
        count = self._plan.pop(0)
        if self._warm[count]:
            self._times[count].append(seconds)
        self._warm[count] = True
        if self._plan:
            return
        self._countdown = self.every
        if _changed(self._rows_at_start, rows):
            return  # the batch changed too much for a fair comparison: probe again as planned
        self._rows_probed = rows
        medians = {count: statistics.median(times) for count, times in self._times.items()}
        best = min(medians, key=lambda count: medians[count])
        switch = best != self.current and medians[best] < _GAIN * medians[self.current]
        # A probe costs its slower steps (and OpenMP resizing its team twice): while probes
        # confirm the count, they come less and less often; a switch brings them back.
        self.every = self._first_every if switch else min(2 * self.every, _MOST_EVERY)
        self._countdown = self.every
        if switch:
            logger.info(
                "generation engine: %d torch threads from now on (step %.0f ms, against %.0f ms "
                "with %d)",
                best,
                medians[best] * 1000,
                medians[self.current] * 1000,
                self.current,
            )
            self.current = best
            self.switches += 1
        self._apply(self.current)


def on_passing_thread(function: Callable[[], T], name: str = "modelport-load") -> T:
    """``function()`` run on a new thread that ends with it: its result, or its exception.

    OpenMP keeps a pool of worker threads for every thread that has run parallel work, for as
    long as that thread lives. While a second pool exists (the main thread's, after it loaded
    and converted the weights), every step on the engine's own thread runs 15-30 % slower on a
    2-core machine (``docs/engine.md``). So torch work done outside the engine, such as loading
    a model, runs here: the pool goes when the thread does.
    """
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(function())
        except BaseException as exc:  # handed to the caller below
            error.append(exc)

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join()
    if error:
        raise error[0]
    return result[0]
