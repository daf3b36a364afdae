from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from modelport.engine import GenerationEngine, GenerationHandle, SamplingParams, StreamEvent
from modelport.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    ModelExecutionError,
    ServiceUnavailableError,
)

MakeEngine = Callable[..., GenerationEngine]


def greedy(max_new_tokens: int = 12, **params: Any) -> SamplingParams:
    return SamplingParams(max_new_tokens=max_new_tokens, temperature=0.0, **params)


def collect(handle: GenerationHandle) -> dict[int, list[StreamEvent]]:
    events: dict[int, list[StreamEvent]] = {}
    for event in handle:
        events.setdefault(event.index, []).append(event)
    return events


def text_of(events: list[StreamEvent]) -> str:
    return "".join(event.text for event in events)


def unbatched_reference(
    make_engine: MakeEngine, prompts: list[list[int]], params: SamplingParams
) -> list[list[int]]:
    engine = make_engine(batching=False, prefix_cache=False)
    handles = [engine.submit(p, params) for p in prompts]
    for handle in handles:
        collect(handle)
    return [handle.completion_tokens[0] for handle in handles]


def test_batched_greedy_equals_unbatched_token_for_token(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    params = greedy(20)
    reference = unbatched_reference(make_engine, prompts, params)
    engine = make_engine(batching=True)
    handles = [engine.submit(p, params) for p in prompts]
    for handle in handles:
        collect(handle)
    assert [h.completion_tokens[0] for h in handles] == reference
    shared = engine.stats()["peak_running_sequences"]
    if engine.path == "serial":  # one request at a time
        assert shared == 1
    else:
        assert shared > 1  # they really shared the batch


def test_requests_join_and_leave_a_running_batch(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    lengths = [30, 5, 12, 20, 8, 16]
    reference = [
        unbatched_reference(make_engine, [p], greedy(n))[0]
        for p, n in zip(prompts, lengths, strict=True)
    ]
    engine = make_engine()
    first = engine.submit(prompts[0], greedy(lengths[0]))
    stream = iter(first)
    next(stream)  # the first request is running: the others join mid-generation
    late = [engine.submit(p, greedy(n)) for p, n in zip(prompts[1:], lengths[1:], strict=True)]
    list(stream)
    for handle in late:
        collect(handle)
    assert [first.completion_tokens[0]] + [h.completion_tokens[0] for h in late] == reference
    assert [len(t) for t in reference] == lengths
    stats = engine.stats()
    assert stats["running"] == stats["running_sequences"] == stats["waiting"] == 0
    assert stats["kv_cache_bytes"] == 0


def test_events_stream_text_and_the_last_one_carries_the_finish_reason(
    make_engine: MakeEngine, prompts: list[list[int]], tokenizer: Any
) -> None:
    engine = make_engine()
    handle = engine.submit(prompts[0], greedy(10))
    events = collect(handle)[0]
    assert [e.finish_reason for e in events[:-1]] == [None] * (len(events) - 1)
    assert events[-1].finish_reason == "length"
    assert handle.finish_reasons == ["length"]
    ids = [t for e in events for t in e.token_ids]
    assert ids == handle.completion_tokens[0]
    assert len(ids) == 10
    assert text_of(events) == tokenizer.decode(ids, skip_special_tokens=True)
    assert handle.prompt_tokens == len(prompts[0])
    assert engine.stats()["tokens_generated"] >= 10


def test_eos_ends_with_stop_and_is_neither_counted_nor_shown(
    make_engine: MakeEngine, prompts: list[list[int]], tokenizer: Any
) -> None:
    free = unbatched_reference(make_engine, [prompts[1]], greedy(12))[0]
    eos = free[4]
    cut = free.index(eos)
    engine = make_engine(eos_token_ids=[eos])
    handle = engine.submit(prompts[1], greedy(12))
    events = collect(handle)[0]
    assert events[-1].finish_reason == "stop"
    assert handle.completion_tokens[0] == free[:cut]
    assert text_of(events) == tokenizer.decode(free[:cut], skip_special_tokens=True)


def test_stop_string_split_across_tokens_ends_the_sequence_before_it(
    make_engine: MakeEngine, prompts: list[list[int]], tokenizer: Any
) -> None:
    free = unbatched_reference(make_engine, [prompts[0]], greedy(16))[0]
    pieces = [tokenizer.decode(free[:i], skip_special_tokens=True) for i in range(len(free) + 1)]
    full = pieces[-1]
    # A stop string made of the end of token 5's text and the start of token 6's.
    boundary = len(pieces[6])
    stop = full[boundary - 2 : boundary + 2]
    assert len(stop) == 4
    engine = make_engine()
    handle = engine.submit(prompts[0], greedy(16, stop=(stop,)))
    events = collect(handle)[0]
    shown = text_of(events)
    assert shown == full[: full.index(stop)]
    assert stop not in shown
    assert events[-1].finish_reason == "stop"
    assert len(handle.completion_tokens[0]) < len(free)


def test_a_stop_string_that_never_completes_is_released(
    make_engine: MakeEngine, prompts: list[list[int]], tokenizer: Any
) -> None:
    free = unbatched_reference(make_engine, [prompts[0]], greedy(16))[0]
    full = tokenizer.decode(free, skip_special_tokens=True)
    never = full[-1] + "\u2603never"  # starts like the text's last char, then diverges
    engine = make_engine()
    handle = engine.submit(prompts[0], greedy(16, stop=(never,)))
    events = collect(handle)[0]
    assert text_of(events) == full
    assert events[-1].finish_reason == "length"


def test_streamed_text_never_ends_inside_a_character(
    make_engine: MakeEngine, prompts: list[list[int]], tokenizer: Any
) -> None:
    # Sampling from the random model produces stray bytes and split multi-byte characters.
    engine = make_engine()
    handles = [
        engine.submit(p, SamplingParams(max_new_tokens=40, seed=i)) for i, p in enumerate(prompts)
    ]
    for handle in handles:
        events = collect(handle)[0]
        for event in events[:-1]:
            assert not event.text.endswith("\ufffd")
        ids = handle.completion_tokens[0]
        assert text_of(events) == tokenizer.decode(ids, skip_special_tokens=True)


def test_n_sequences_share_the_prompt_and_each_finishes(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    engine = make_engine()
    single = unbatched_reference(make_engine, [prompts[2]], greedy(8))[0]
    handle = engine.submit(prompts[2], greedy(8, n=3))
    events = collect(handle)
    assert sorted(events) == [0, 1, 2]
    assert handle.completion_tokens == [single] * 3
    assert handle.finish_reasons == ["length"] * 3
    assert engine.stats()["prefills"] == 1
    sampled = engine.submit(prompts[2], SamplingParams(max_new_tokens=8, seed=3, n=3))
    collect(sampled)
    assert len({tuple(t) for t in sampled.completion_tokens}) == 3


def test_seed_reproduces_the_text_whatever_shares_the_batch(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    params = SamplingParams(max_new_tokens=12, temperature=0.9, top_p=0.95, top_k=50, seed=42)
    alone = make_engine()
    first = alone.submit(prompts[0], params)
    collect(first)
    busy = make_engine()
    others = [
        busy.submit(p, SamplingParams(max_new_tokens=12, seed=i)) for i, p in enumerate(prompts)
    ]
    again = busy.submit(prompts[0], params)
    collect(again)
    for handle in others:
        collect(handle)
    other_seed = alone.submit(
        prompts[0], SamplingParams(max_new_tokens=12, temperature=0.9, seed=7)
    )
    collect(other_seed)
    assert again.completion_tokens == first.completion_tokens
    assert other_seed.completion_tokens != first.completion_tokens


def test_penalties_change_what_is_generated(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    engine = make_engine()
    plain = engine.submit(prompts[3], greedy(40))
    penalised = engine.submit(prompts[3], greedy(40, frequency_penalty=2.0, presence_penalty=2.0))
    collect(plain)
    collect(penalised)
    repeats = len(plain.completion_tokens[0]) - len(set(plain.completion_tokens[0]))
    assert repeats > 0  # the random model repeats itself without penalties
    assert len(set(penalised.completion_tokens[0])) == len(penalised.completion_tokens[0])


def test_cancel_frees_the_slot_for_the_next_request(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    engine = make_engine(max_batch_size=1)
    long = engine.submit(prompts[0], greedy(200))
    waiting = engine.submit(prompts[1], greedy(5))
    stream = iter(long)
    next(stream)
    assert engine.stats()["waiting"] == 1
    long.cancel()
    list(stream)  # the stream ends after a cancel
    collect(waiting)
    assert waiting.finish_reasons == ["length"]
    assert len(long.completion_tokens[0]) < 200
    assert long.finish_reasons == [None]
    stats = engine.stats()
    assert stats["running"] == stats["running_sequences"] == 0
    assert stats["kv_cache_bytes"] == 0


def test_cancel_of_a_waiting_request_removes_it_from_the_queue(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    engine = make_engine(max_batch_size=1, eos_token_ids=[])
    running = engine.submit(prompts[0], greedy(100))
    queued = engine.submit(prompts[1], greedy(100))
    stream = iter(running)
    next(stream)  # the first holds the only slot: the second waits
    assert engine.stats()["waiting"] == 1
    queued.cancel()
    assert engine.stats()["waiting"] == 0
    assert list(queued) == []
    assert queued.completion_tokens == [[]]
    running.cancel()
    list(stream)
    deadline = time.monotonic() + 5
    while engine.stats()["running"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.stats()["running"] == 0


def record_first_event(
    push: Callable[[Any], None], number: int, started: list[int]
) -> Callable[[Any], None]:
    """``push`` (called on the engine thread), noting ``number`` when its first event goes out."""

    def recording(item: Any) -> None:
        if isinstance(item, StreamEvent) and number not in started:
            started.append(number)
        push(item)

    return recording


def test_admission_is_first_in_first_out(make_engine: MakeEngine, prompts: list[list[int]]) -> None:
    engine = make_engine(max_batch_size=1, eos_token_ids=[])
    blocker = engine.submit(prompts[0], greedy(200))
    blocker_events = iter(blocker)
    next(blocker_events)  # it holds the only slot: the requests below queue behind it
    handles = [engine.submit(prompts[i % len(prompts)], greedy(6)) for i in range(5)]
    started: list[int] = []  # request numbers in the order the engine sent their first event
    for number, handle in enumerate(handles):
        handle.push = record_first_event(handle.push, number, started)  # type: ignore[method-assign]
    assert engine.stats()["waiting"] == 5  # none admitted before its recorder was in place
    blocker.cancel()
    list(blocker_events)
    for handle in reversed(handles):  # the reading order must not matter
        collect(handle)
    assert started == [0, 1, 2, 3, 4]
    assert engine.stats()["peak_running_sequences"] == 1


def test_batching_off_runs_one_request_at_a_time(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    engine = make_engine(batching=False)
    handles = [engine.submit(p, greedy(6)) for p in prompts]
    for handle in handles:
        collect(handle)
    assert engine.stats()["peak_running_sequences"] == 1
    assert engine.stats()["prefills"] == len(prompts)


def test_prefill_token_budget_splits_admission(make_engine: MakeEngine, tokenizer: Any) -> None:
    same_length = [tokenizer.encode(f"number {i} is here") for i in range(4)]
    assert len({len(p) for p in same_length}) == 1
    engine = make_engine(max_tokens_per_step=2 * len(same_length[0]) - 1)
    handles = [engine.submit(p, greedy(4)) for p in same_length]
    for handle in handles:
        collect(handle)
    assert engine.stats()["prefills"] == 4


def test_kv_cache_budget_bounds_the_batch(
    make_engine: MakeEngine, tiny_model: Any, prompts: list[list[int]]
) -> None:
    from modelport.engine.cache import kv_bytes_per_token

    per_token = kv_bytes_per_token(tiny_model.config, tiny_model.dtype)
    budget = per_token * 2 * (max(len(p) for p in prompts) + 10) * 2  # room for about two rows
    engine = make_engine(kv_cache_bytes=budget)
    handles = [engine.submit(p, greedy(10)) for p in prompts]
    for handle in handles:
        collect(handle)
    stats = engine.stats()
    assert stats["kv_cache_peak_bytes"] <= budget
    if engine.path == "serial":  # one request at a time, whatever the budget
        assert stats["peak_running_sequences"] == 1
    else:
        assert 1 < stats["peak_running_sequences"] < len(prompts)


def test_a_request_larger_than_the_kv_budget_is_refused(
    make_engine: MakeEngine, tiny_model: Any, prompts: list[list[int]]
) -> None:
    from modelport.engine.cache import kv_bytes_per_token

    per_token = kv_bytes_per_token(tiny_model.config, tiny_model.dtype)
    engine = make_engine(kv_cache_bytes=per_token * 20)
    with pytest.raises(ContextLengthExceededError, match="KV cache"):
        engine.submit(prompts[3], greedy(50))


def test_prompt_beyond_the_context_is_refused(make_engine: MakeEngine, tiny_model: Any) -> None:
    context = tiny_model.config.max_position_embeddings
    engine = make_engine()
    with pytest.raises(ContextLengthExceededError, match=str(context)):
        engine.submit([5] * context, greedy(4))


def test_generation_stops_at_the_end_of_the_context(
    make_engine: MakeEngine, tiny_model: Any
) -> None:
    context = tiny_model.config.max_position_embeddings
    engine = make_engine()
    handle = engine.submit([5] * (context - 3), greedy(50))
    collect(handle)
    assert len(handle.completion_tokens[0]) == 3
    assert handle.finish_reasons == ["length"]


@pytest.mark.parametrize(
    ("prompt", "match"),
    [([], "empty"), ([-1, 3], "range"), ([10**9], "range")],
)
def test_bad_prompts_are_refused(make_engine: MakeEngine, prompt: list[int], match: str) -> None:
    engine = make_engine()
    with pytest.raises(InvalidRequestError, match=match):
        engine.submit(prompt, greedy(4))


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"num_threads": 0}, "num_threads"),
        ({"kv_cache_bytes": -1}, "kv_cache_bytes"),
        ({"max_batch_sise": 4}, "max_batch_sise"),
        ({"path": "fast"}, "path"),
    ],
)
def test_bad_engine_config_is_refused(fields: dict[str, Any], param: str) -> None:
    from modelport.engine import EngineConfig

    for build in (lambda: EngineConfig(**fields), lambda: EngineConfig.parse(fields)):
        with pytest.raises(InvalidRequestError, match="EngineConfig") as caught:
            build()
        assert caught.value.param == param


def test_bad_params_are_refused_at_submit(make_engine: MakeEngine) -> None:
    engine = make_engine(max_batch_size=4)
    with pytest.raises(InvalidRequestError, match="n must be at most 4"):
        engine.submit([5, 6], greedy(4, n=5))
    with pytest.raises(InvalidRequestError) as info:
        engine.submit([5, 6], SamplingParams(max_new_tokens=4, top_p=2.0))
    assert info.value.param == "top_p"


def test_async_iteration_gives_the_same_events(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    engine = make_engine()
    sync_events = collect(engine.submit(prompts[0], greedy(10)))[0]

    async def read() -> list[StreamEvent]:
        return [event async for event in engine.submit(prompts[0], greedy(10))]

    assert asyncio.run(read()) == sync_events


def test_shutdown_ends_pending_requests_with_an_error(
    make_engine: MakeEngine, prompts: list[list[int]]
) -> None:
    engine = make_engine(max_batch_size=1)
    running = engine.submit(prompts[0], greedy(200))
    queued = engine.submit(prompts[1], greedy(200))
    stream = iter(running)
    next(stream)
    engine.shutdown()
    with pytest.raises(ServiceUnavailableError):
        list(stream)
    with pytest.raises(ServiceUnavailableError):
        list(queued)
    with pytest.raises(ServiceUnavailableError):
        engine.submit(prompts[0], greedy(2))


def test_a_failing_model_fails_its_requests_and_the_engine_goes_on(
    tiny_model: Any, tokenizer: Any, prompts: list[list[int]]
) -> None:
    failing = threading.Event()

    class FlakyModel:
        """The tiny model, made to raise on demand (a model whose own code fails)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(tiny_model, name)

        def __call__(self, **kwargs: Any) -> Any:
            if failing.is_set():
                raise RuntimeError("boom")
            return tiny_model(**kwargs)

    with GenerationEngine(FlakyModel(), tokenizer) as engine:
        failing.set()
        with pytest.raises(ModelExecutionError) as info:
            collect(engine.submit(prompts[0], greedy(5)))
        assert "boom" not in info.value.message
        assert isinstance(info.value.__cause__, RuntimeError)
        failing.clear()
        handle = engine.submit(prompts[0], greedy(5))
        collect(handle)
        assert handle.finish_reasons == ["length"]


def test_prompts_sharing_a_prefix_reuse_its_cache_with_the_same_output(
    make_engine: MakeEngine, tokenizer: Any
) -> None:
    system = tokenizer.encode("You are a careful assistant who answers in short sentences. ")
    prompts = [system + tokenizer.encode(q) for q in ("Hi there", "What is 2+2?", "Name a colour")]
    reference = unbatched_reference(make_engine, prompts, greedy(10))
    engine = make_engine(prefix_cache=True)
    outputs = []
    for prompt in prompts:  # one after another: the later ones find the shared prefix
        handle = engine.submit(prompt, greedy(10))
        collect(handle)
        outputs.append(handle.completion_tokens[0])
    together = [engine.submit(p, greedy(10)) for p in prompts]  # and in one group
    for handle in together:
        collect(handle)
    stats = engine.stats()
    assert outputs == reference
    assert [h.completion_tokens[0] for h in together] == reference
    if engine.path == "serial":  # a recurrent state cannot be cut at a prefix: no prefix cache
        assert stats["prefix_cache_hits"] == 0
    else:
        assert stats["prefix_cache_hits"] >= 4
        assert stats["prefix_cache_tokens_saved"] >= 4 * len(system)


@pytest.mark.parametrize(
    "poison",
    [
        # each fails inside the loop, past the checks at submit (turned off here): a seed that
        # overflows torch's generator when the row joins, a temperature that makes sampling fail
        SamplingParams(max_new_tokens=8, seed=2**70),
        SamplingParams(max_new_tokens=8, temperature=float("nan")),
    ],
    ids=["seed-overflow-at-join", "nan-temperature-at-sampling"],
)
def test_a_request_that_fails_in_the_loop_fails_alone(
    make_engine: MakeEngine,
    prompts: list[list[int]],
    poison: SamplingParams,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = unbatched_reference(make_engine, prompts[:3], greedy(20))
    monkeypatch.setattr("modelport.engine.engine.validate", lambda params, max_batch_size: None)
    engine = make_engine()
    victims = [engine.submit(p, greedy(20)) for p in prompts[:3]]
    streams = [iter(v) for v in victims]
    for stream in streams:
        next(stream)  # the victims are running when the poison joins
    bad = engine.submit(prompts[3], poison)
    with pytest.raises(ModelExecutionError):
        collect(bad)
    for stream in streams:
        list(stream)
    assert [v.completion_tokens[0] for v in victims] == reference
    assert all(v.finish_reasons == ["length"] for v in victims)
    stats = engine.stats()
    assert stats["running"] == stats["running_sequences"] == 0
    # the engine still serves
    assert collect(engine.submit(prompts[0], greedy(20)))[0][-1].finish_reason == "length"
