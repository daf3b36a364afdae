from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from modelport.engine import GenerationEngine, SamplingParams
from modelport.engine.threads import ThreadTuner, candidate_counts


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def run_steps(tuner: ThreadTuner, step_time: dict[int, float], steps: int, rows: int = 16) -> None:
    for _ in range(steps):
        tuner.before_step(rows)
        tuner.after_step(rows, step_time[torch.get_num_threads()])


def test_switches_to_a_clearly_faster_count_and_applies_it() -> None:
    tuner = ThreadTuner([1, 2], every=10)
    run_steps(tuner, {1: 0.150, 2: 0.110}, steps=12)
    assert tuner.current == 2
    assert tuner.switches == 1
    tuner.before_prefill()
    assert torch.get_num_threads() == 2


def test_switches_back_when_conditions_change() -> None:
    tuner = ThreadTuner([1, 2], every=10)
    run_steps(tuner, {1: 0.150, 2: 0.110}, steps=12)
    run_steps(tuner, {1: 0.150, 2: 0.400}, steps=20)  # another process took a core
    assert tuner.current == 1
    assert tuner.switches == 2


def test_keeps_the_current_count_without_a_clear_gain() -> None:
    tuner = ThreadTuner([1, 2], every=10)
    run_steps(tuner, {1: 0.100, 2: 0.095}, steps=40)
    assert (tuner.current, tuner.switches) == (1, 0)


def test_probes_that_confirm_the_count_come_less_often_until_one_switches() -> None:
    tuner = ThreadTuner([1, 2], every=10)
    probes: list[int] = []
    step = 0

    def run(times: dict[int, float], steps: int) -> None:
        nonlocal step
        for _ in range(steps):
            tuner.before_step(16)
            if torch.get_num_threads() != tuner.current:
                probes.append(step)
            tuner.after_step(16, times[torch.get_num_threads()])
            step += 1

    run({1: 0.100, 2: 0.200}, 400)  # 1 stays the faster: each probe confirms it
    starts = [s for i, s in enumerate(probes) if i == 0 or probes[i - 1] != s - 1]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == sorted(gaps) and gaps[-1] >= 4 * gaps[0], gaps
    assert tuner.every > 10
    waited, interval = 0, tuner.every
    while tuner.current == 1 and waited < 2000:  # now 2 is faster: the next probe switches
        run({1: 0.300, 2: 0.100}, 1)
        waited += 1
    assert tuner.current == 2 and waited <= interval + 6
    assert tuner.every == 10  # probes come often again after a switch


def test_a_batch_of_another_size_is_probed_again_soon() -> None:
    tuner = ThreadTuner([1, 2], every=10)
    run_steps(tuner, {1: 0.100, 2: 0.200}, steps=600, rows=1)  # 1 thread, confirmed for 1 row
    assert tuner.every > 80
    run_steps(tuner, {1: 0.300, 2: 0.100}, steps=16, rows=16)  # 16 rows: 2 threads are faster
    assert tuner.current == 2


def test_ignores_a_probe_during_which_the_batch_changed() -> None:
    tuner = ThreadTuner([1, 2], every=100)
    times = {1: 0.150, 2: 0.050}
    for rows in (16, 16, 16, 16, 30, 30, 30, 30, 30, 30):
        tuner.before_step(rows)
        tuner.after_step(rows, times[torch.get_num_threads()])
    assert tuner.current == 1


def test_a_configured_count_is_never_tuned() -> None:
    assert candidate_counts(3) == [3]
    tuner = ThreadTuner([3], every=1)
    run_steps(tuner, {3: 0.1}, steps=5)
    assert torch.get_num_threads() == 3
    assert tuner.switches == 0


def test_under_omp_num_threads_every_forward_pass_runs_with_that_count(
    monkeypatch: pytest.MonkeyPatch, tiny_model: Any, tokenizer: Any
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)  # what torch starts with under OMP_NUM_THREADS=1
    seen: set[int] = set()

    class Recording:
        """The tiny model, noting the thread count of each forward pass (on the engine thread)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(tiny_model, name)

        def __call__(self, **kwargs: Any) -> Any:
            seen.add(torch.get_num_threads())
            return tiny_model(**kwargs)

    with GenerationEngine(Recording(), tokenizer, eos_token_ids=[]) as engine:
        # 30 decode steps: past the first probe (step 4), which would try another count
        handle = engine.submit(tokenizer.encode("Hello"), SamplingParams(max_new_tokens=30))
        assert len([token for event in handle for token in event.token_ids]) == 30
        stats = engine.stats()
    assert seen == {1}
    assert (stats["threads"], stats["thread_switches"]) == (1, 0)


def test_an_untimed_prefill_step_during_a_probe_keeps_the_probed_count() -> None:
    tuner = ThreadTuner([1, 2], every=10)
    run_steps(tuner, {1: 0.150, 2: 0.110}, steps=3)
    tuner.before_step(16)  # the probe of 2 threads begins
    tuner.after_step(16, 0.110)
    tuner.before_prefill()  # a step that also prefills: not timed, same count
    assert torch.get_num_threads() == 2
    run_steps(tuner, {1: 0.150, 2: 0.110}, steps=8)
    assert tuner.current == 2


def test_work_on_a_passing_thread_returns_its_result_or_raises_its_error() -> None:
    import threading

    from modelport.engine.threads import on_passing_thread

    seen: list[threading.Thread] = []

    def work() -> int:
        seen.append(threading.current_thread())
        return 42

    assert on_passing_thread(work) == 42
    assert seen[0] is not threading.current_thread() and not seen[0].is_alive()

    def fail() -> None:
        raise ValueError("bad weights")

    with pytest.raises(ValueError, match="bad weights"):
        on_passing_thread(fail)
