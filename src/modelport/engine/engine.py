"""The generation engine: one thread that owns the model and runs it step by step.

Each step the loop (1) drops cancelled requests, (2) admits waiting requests in FIFO order while
the batch size, the prefill token budget and the KV-cache budget allow, and (3) runs the step's
forward pass through the model's runner (:mod:`modelport.engine.runners`: one packed pass, or
the model's own attention over a padded batch, or one request's rows through the model's own
state): the next token of every running sequence and the admitted prompts, which join the batch
after it. Sequences leave the batch the step they finish. With ``batching=False`` (and on the
serial path) a request is admitted only when nothing is running: one request at a time.

All model calls happen on the engine's own long-lived thread: on a small CPU, several Python
threads driving the same OpenMP pools can fall into a slow, futex-bound state.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from modelport.engine import (
    EngineConfig,
    FinishReason,
    SamplingParams,
    StreamEvent,
    TokenLogprob,
)
from modelport.engine.attention import Joiner, StepPlan
from modelport.engine.cache import KVLayout, PrefixStore
from modelport.engine.detok import IncrementalDetokenizer
from modelport.engine.handle import END, GenerationHandle
from modelport.engine.runners import Runner, StateBatch, choose_runner
from modelport.engine.sampling import GREEDY_BELOW, RowSampling, sample, validate
from modelport.engine.stop import StopMatcher
from modelport.engine.threads import ThreadTuner, candidate_counts
from modelport.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    ModelExecutionError,
    ServiceUnavailableError,
)

logger = logging.getLogger(__name__)


def default_kv_cache_bytes() -> int:
    """The KV budget when none is configured: a quarter of the machine's physical memory."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4)
    except (ValueError, OSError, AttributeError):
        return 4 << 30


@dataclass(eq=False)  # compared by identity (queue removal)
class _Request:
    handle: GenerationHandle
    prompt_ids: list[int]
    params: SamplingParams
    max_new_tokens: int  # the request's limit, clipped to what the context leaves
    failed: bool = False  # its own settings failed inside the loop; its rows are leaving


@dataclass(eq=False)
class _Sequence:
    request: _Request
    index: int
    detok: IncrementalDetokenizer
    stop: StopMatcher
    sampling: RowSampling
    last_token: int = -1
    unreported: list[int] = field(default_factory=list)
    unreported_logprobs: list[TokenLogprob] = field(default_factory=list)


class GenerationEngine:
    """Batched generation over a transformers causal LM; see :mod:`modelport.engine`."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        config: EngineConfig | None = None,
        *,
        eos_token_ids: Sequence[int] | None = None,
        runner: Runner | None = None,
        name: str = "modelport-engine",
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config or EngineConfig()  # validated when it was built
        model_config = (
            model.config.get_text_config()
            if hasattr(model.config, "get_text_config")
            else model.config
        )
        self.context_length: int = int(
            getattr(model_config, "max_position_embeddings", 0) or 1 << 30
        )
        self.vocab_size: int = int(model_config.vocab_size)
        self.eos_token_ids = frozenset(
            eos_token_ids if eos_token_ids is not None else _eos_ids(model, tokenizer)
        )
        self.kv_cache_bytes = self.config.kv_cache_bytes or default_kv_cache_bytes()
        self.runner: Runner = runner or choose_runner(model, self.config.path)
        self._prefixes = (
            PrefixStore(on_evict=self.runner.forget_prefix)
            if self.config.prefix_cache and self.runner.prefix_cache
            else None
        )
        self._one_request = not self.config.batching or self.runner.one_request
        logger.info(
            "generation engine for %s: %s path (%s), %s",
            type(model).__name__,
            self.runner.path,
            self.runner.reason,
            self.runner.dtype,
        )
        self._layout: KVLayout | None = None  # measured by the first forward pass

        self._cond = threading.Condition()
        self._waiting: deque[_Request] = deque()
        self._stopping = False
        # Touched only by the engine thread:
        self._rows: list[_Sequence] = []
        self._batch: Any = None  # the runner's batch: BatchCache, StateBatch, SeqBatch
        self._running_requests = 0
        self._steps = 0
        self._tokens_generated = 0
        self._prefill_tokens = 0
        self._prefills = 0
        self._peak_cache_bytes = 0
        self._held_bytes = 0  # the batch's bytes after the last step (read by stats())
        self._peak_rows = 0
        self._threads = ThreadTuner(
            candidate_counts(self.runner.torch_threads or self.config.num_threads)
        )
        # Events are sent once a step's bookkeeping is done, so a reader that sees its request
        # end also sees the engine's counters without it.
        self._outbox: list[tuple[GenerationHandle, Any]] = []

        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise self._start_error

    @property
    def path(self) -> str:
        """How steps run: "packed", "padded" or "serial" (:mod:`modelport.engine.runners`)."""
        return self.runner.path

    def describe(self) -> dict[str, str]:
        """The engine path and why it was chosen, and the model's dtype (``/v1/models`` shows
        them)."""
        return {
            "path": self.runner.path,
            "reason": self.runner.reason,
            "dtype": self.runner.dtype,
        }

    # -- public API ----------------------------------------------------------------------------

    def submit(self, prompt_ids: Sequence[int], params: SamplingParams) -> GenerationHandle:
        """Queue a request; its events arrive on the returned handle."""
        validate(params, max_batch_size=self.config.max_batch_size)
        prompt = [int(t) for t in prompt_ids]
        if not prompt:
            raise InvalidRequestError(
                "the prompt is empty: at least one token is needed", param="messages"
            )
        if min(prompt) < 0 or max(prompt) >= self.vocab_size:
            raise InvalidRequestError(
                f"prompt token ids must be in [0, {self.vocab_size}), got one out of range",
                param="prompt",
            )
        biased = [token for token, _ in params.logit_bias if token >= self.vocab_size]
        if biased:
            raise InvalidRequestError(
                f"logit_bias names token {biased[0]}, but this model's token ids are "
                f"0 to {self.vocab_size - 1}",
                param="logit_bias",
            )
        if len(prompt) >= self.context_length:
            raise ContextLengthExceededError(
                f"the prompt has {len(prompt)} tokens but this model's context is "
                f"{self.context_length} tokens (the prompt must leave room for at least one token)",
                param="messages",
            )
        max_new = min(params.max_new_tokens, self.context_length - len(prompt))
        alone = self._peak_bytes([(len(prompt), max_new)] * params.n)
        if alone > self.kv_cache_bytes:
            raise ContextLengthExceededError(
                f"the prompt ({len(prompt)} tokens) plus max_tokens ({max_new}) for n={params.n} "
                f"needs {alone} bytes of KV cache, over this engine's budget of "
                f"{self.kv_cache_bytes} bytes; send a shorter prompt, a smaller max_tokens or a "
                "smaller n",
                param="max_tokens",
            )
        holder: list[_Request] = []
        handle = GenerationHandle(len(prompt), params.n, on_cancel=lambda: self._cancel(holder[0]))
        request = _Request(handle, prompt, params, max_new)
        holder.append(request)
        with self._cond:
            if self._stopping:
                raise ServiceUnavailableError("the generation engine is shut down")
            self._waiting.append(request)
            self._cond.notify_all()
        return handle

    def stats(self) -> dict[str, int]:
        """Counters: tokens generated, requests running and waiting, decode steps, cache use."""
        with self._cond:
            waiting = len(self._waiting)
        batch = self._batch
        return {
            "tokens_generated": self._tokens_generated,
            "running": self._running_requests,
            "waiting": waiting,
            "steps": self._steps,
            "running_sequences": len(self._rows),
            "peak_running_sequences": self._peak_rows,
            "prefills": self._prefills,
            "prefill_tokens": self._prefill_tokens,
            "prefix_cache_hits": self._prefixes.hits if self._prefixes is not None else 0,
            "prefix_cache_tokens_saved": self._prefixes.tokens_saved
            if self._prefixes is not None
            else 0,
            "kv_cache_bytes": self._held_bytes if batch else 0,
            "kv_cache_peak_bytes": self._peak_cache_bytes,
            "kv_cache_budget_bytes": self.kv_cache_bytes,
            "threads": self._threads.current,
            "thread_switches": self._threads.switches,
        }

    def shutdown(self, timeout: float | None = 30.0) -> None:
        """Stop the loop; requests still queued or running end with ServiceUnavailableError."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def __enter__(self) -> GenerationEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- the loop ------------------------------------------------------------------------------

    def _cancel(self, request: _Request) -> None:
        with self._cond:
            if request in self._waiting:
                self._waiting.remove(request)
                request.handle.push(END)
            self._cond.notify_all()

    def _peak_bytes(self, entries: list[tuple[int, int]]) -> int:
        assert self._layout is not None
        return _peak_cache_bytes(entries, self._layout)

    def _run(self) -> None:
        try:
            with torch.inference_mode():
                try:
                    self._layout = self.runner.measure()
                    self.kv_cache_bytes = self.runner.kv_budget(self.kv_cache_bytes)
                except Exception as exc:
                    self._start_error = exc
                    return
                finally:
                    self._ready.set()
                while True:
                    with self._cond:
                        while not self._stopping and not self._waiting and not self._rows:
                            self._cond.wait()
                        if self._stopping:
                            break
                    self._drop_cancelled()
                    with self._cond:
                        admitted = self._admit()
                    try:
                        if admitted or self._rows:
                            self._step(admitted)
                    except Exception as exc:
                        logger.exception("generation step failed")
                        self._fail_running(admitted, exc)
                    self._send()
        finally:
            self._shut_down_requests()
            self.runner.close()

    def _admit(self) -> list[_Request]:
        """Pop waiting requests (FIFO) that fit this step's budgets. Called with the lock held."""
        if not self._waiting:
            return []
        if self._one_request and self._rows:
            return []
        admitted: list[_Request] = []
        rows = len(self._rows)
        prompt_tokens = 0
        running = self._cache_entries()
        while self._waiting:
            request = self._waiting[0]
            n = request.params.n
            if rows + n > self.config.max_batch_size:
                break
            tokens_with = prompt_tokens + len(request.prompt_ids)
            if admitted and tokens_with > self.config.max_tokens_per_step:
                break
            joining = [
                (len(r.prompt_ids), r.max_new_tokens)
                for r in [*admitted, request]
                for _ in range(r.params.n)
            ]
            if (rows or admitted) and self._peak_bytes(running + joining) > self.kv_cache_bytes:
                break
            self._waiting.popleft()
            admitted.append(request)
            rows += n
            prompt_tokens = tokens_with
            if self._one_request:
                break
        return admitted

    def _cache_entries(self) -> list[tuple[int, int]]:
        """(columns spanned now, tokens still to add at most) for each running row."""
        batch = self._batch
        if batch is None:
            return []
        return [
            (span, seq.request.max_new_tokens - len(seq.sampling.generated))
            for seq, span in zip(self._rows, batch.spans, strict=True)
        ]

    def _drop_cancelled(self) -> None:
        keep = [i for i, seq in enumerate(self._rows) if not seq.request.handle.cancelled]
        if len(keep) == len(self._rows):
            return
        gone = {id(seq.request): seq.request for seq in self._rows if seq.request.handle.cancelled}
        for request in gone.values():
            self._running_requests -= 1
            self._outbox.append((request.handle, END))
        self._keep_rows(keep)

    def _keep_rows(self, keep: list[int]) -> None:
        self._rows = [self._rows[i] for i in keep]
        if self._batch is not None:
            if self._rows:
                self._batch.select(keep)
            else:
                _release(self._batch)
                self._batch = None

    def _step(self, admitted: list[_Request]) -> None:
        """One forward pass through the runner: a token for each running row, then the admitted
        prompts."""
        batch = self._batch
        rows = len(self._rows)
        tokens = [seq.last_token for seq in self._rows]
        positions = list(batch.lengths) if batch is not None else []
        joiners: list[Joiner] = []
        shares: list[int] = []
        for request in admitted:
            prefix = None
            if self._prefixes is not None:
                prefix = self._prefixes.lookup(request.prompt_ids)
                shares.append(self._prefixes.worth_keeping(request.prompt_ids))
            else:
                shares.append(0)
            skip = len(prefix.tokens) if prefix is not None else 0
            rest = request.prompt_ids[skip:]
            joiners.append(Joiner(len(tokens), len(rest), prefix, copies=request.params.n))
            tokens.extend(rest)
            positions.extend(range(skip, skip + len(rest)))
        mask = None
        if batch is not None:
            batch.append_column()
            mask = self.runner.step_mask(batch)
        if joiners:
            self._threads.before_prefill()
        else:
            self._threads.before_step(rows)
        assert self._layout is not None
        plan = StepPlan(
            rows,
            batch.cache if batch is not None else None,
            mask,
            joiners,
            keep=self._layout.keep,
            windows=self.runner.windows,
            batch=batch,
        )
        started = time.perf_counter()
        out = self.runner.forward(plan, tokens, positions)
        if not joiners:
            self._threads.after_step(rows, time.perf_counter() - started)
        logits = out.float().cpu()  # sampling (and its seeded generators) runs on the CPU
        if batch is not None:
            self._steps += 1
            self._note_bytes(batch)
            keep = self._accept(self._rows, logits[:rows])
            if len(keep) != rows:
                self._keep_rows(keep)
        if joiners:
            self._prefills += 1
            self._prefill_tokens += sum(j.length for j in joiners)
            self._join(admitted, joiners, shares, logits[rows:])

    def _join(
        self,
        requests: list[_Request],
        joiners: list[Joiner],
        shares: list[int],
        logits: torch.Tensor,
    ) -> None:
        """Add the rows of requests prefilled in this step; their first tokens come from ``logits``."""
        if self._prefixes is not None:
            for joiner, request, share in zip(joiners, requests, shares, strict=True):
                if share:
                    tokens = tuple(request.prompt_ids[:share])
                    self._prefixes.add(self.runner.keep_prefix(tokens, joiner))
        assert self._layout is not None
        joined = self.runner.stack(self._layout, joiners)
        sequences: list[_Sequence] = []
        joining: list[int] = []
        for row, request in enumerate(requests):
            try:
                sequences += [self._new_sequence(request, i) for i in range(request.params.n)]
            except Exception as exc:  # this request's settings (a seed the generator refuses)
                self._fail_request(request, exc, counted=False)
                continue
            joining.append(row)
        if not joining:
            _release(joined)
            return
        if len(joining) != len(requests):
            requests = [requests[row] for row in joining]
            joined.select(joining)
            logits = logits[joining]
        repeats = [r.params.n for r in requests]
        joined.repeat_rows(repeats)
        logits = logits.repeat_interleave(torch.tensor(repeats), dim=0)
        self._running_requests += len(requests)
        keep = self._accept(sequences, logits)
        if not keep:
            _release(joined)
            return
        if len(keep) != len(sequences):
            joined.select(keep)
        sequences = [sequences[i] for i in keep]
        if self._batch is None:
            self._batch = joined
        else:  # the serial path admits into no batch: the others grow
            assert not isinstance(self._batch, StateBatch)
            self._batch.extend(joined)
        self._rows.extend(sequences)
        self._peak_rows = max(self._peak_rows, len(self._rows))
        self._note_bytes(self._batch)

    def _note_bytes(self, batch: Any) -> None:
        """Count the batch's bytes here, on the engine thread: a model's own state (the serial
        path) is not safe to walk from another thread while a step changes it."""
        self._held_bytes = batch.bytes_held()
        self._peak_cache_bytes = max(self._peak_cache_bytes, self._held_bytes)

    def _new_sequence(self, request: _Request, index: int) -> _Sequence:
        params = request.params
        generator = None
        if params.seed is not None and params.temperature >= GREEDY_BELOW:
            generator = torch.Generator().manual_seed(params.seed + index)
        constraint = params.constraint.new_row() if params.constraint is not None else None
        return _Sequence(
            request=request,
            index=index,
            detok=IncrementalDetokenizer(
                self.tokenizer, skip_special_tokens=not params.keep_special_tokens
            ),
            stop=StopMatcher(params.stop),
            sampling=RowSampling(
                params, request.handle.completion_tokens[index], generator, constraint
            ),
        )

    def _accept(self, sequences: list[_Sequence], logits: torch.Tensor) -> list[int]:
        """Sample one token per sequence, stream the text; return the indices still running.

        A sequence whose own sampling or text handling fails fails its request (all of its
        sequences leave); the rest of the batch goes on.
        """
        sampled = sample(logits, [seq.sampling for seq in sequences])
        for i, exc in sampled.failed.items():
            self._fail_request(sequences[i].request, exc)
        keep: list[int] = []
        for i, (seq, token) in enumerate(zip(sequences, sampled.tokens, strict=True)):
            if seq.request.failed:
                continue
            try:
                finished = self._advance(seq, token, sampled.logprobs.get(i)) is not None
            except Exception as exc:
                self._fail_request(seq.request, exc)
                continue
            if not finished:
                keep.append(i)
        return [i for i in keep if not sequences[i].request.failed]

    def _fail_request(self, request: _Request, exc: Exception, *, counted: bool = True) -> None:
        """End one request with an error caused by its own settings; the batch goes on.

        ``counted``: the request is already among the running ones.
        """
        if request.failed:
            return
        request.failed = True
        logger.error("a request failed in the engine and left the batch: %r", exc, exc_info=exc)
        error = ModelExecutionError("generating this request failed; see the server log")
        error.__cause__ = exc
        if counted and not request.handle.finished:
            self._running_requests -= 1
        self._outbox.append((request.handle, error))

    def _advance(
        self, seq: _Sequence, token: int, logprob: TokenLogprob | None = None
    ) -> FinishReason | None:
        reason: FinishReason | None = None
        constraint = seq.sampling.constraint
        if token in self.eos_token_ids:
            text = seq.stop.feed(seq.detok.flush())
            reason = "stop"
        else:
            seq.sampling.generated.append(token)
            seq.unreported.append(token)
            if logprob is not None:
                seq.unreported_logprobs.append(logprob)
            seq.last_token = token
            self._tokens_generated += 1
            if constraint is not None:
                constraint.advance(token)
            text = seq.stop.feed(seq.detok.add(token))
            if seq.stop.stopped:
                reason = "stop"
            elif constraint is not None and constraint.done:
                # the grammar is complete (the closing brace of a JSON object): nothing may follow
                text += seq.stop.feed(seq.detok.flush())
                reason = "stop"
            elif len(seq.sampling.generated) >= seq.request.max_new_tokens:
                text += seq.stop.feed(seq.detok.flush())
                reason = "stop" if seq.stop.stopped else "length"
        if reason is not None:
            text += seq.stop.flush()
        if reason is None and not text:
            return None
        handle = seq.request.handle
        logprobs = None
        if seq.request.params.logprobs is not None:
            logprobs, seq.unreported_logprobs = seq.unreported_logprobs, []
        self._outbox.append(
            (handle, StreamEvent(seq.index, text, seq.unreported, reason, logprobs))
        )
        seq.unreported = []
        if reason is not None:
            handle.finish_reasons[seq.index] = reason
            if handle.finished:
                self._running_requests -= 1
                self._outbox.append((handle, END))
        return reason

    def _send(self) -> None:
        outbox, self._outbox = self._outbox, []
        for handle, item in outbox:
            handle.push(item)

    def _fail_running(self, admitted: list[_Request], exc: Exception) -> None:
        error = ModelExecutionError("the model failed while generating; see the server log")
        error.__cause__ = exc
        requests = {id(seq.request): seq.request for seq in self._rows}
        requests.update({id(r): r for r in admitted})
        self._outbox = [(h, item) for h, item in self._outbox if not isinstance(item, StreamEvent)]
        for request in requests.values():
            if not request.handle.finished:
                self._outbox.append((request.handle, error))
        self._rows = []
        self._batch = None
        self._running_requests = 0
        self.runner.reset()

    def _shut_down_requests(self) -> None:
        error = ServiceUnavailableError(
            "the generation engine shut down before this request finished"
        )
        with self._cond:
            self._stopping = True
            waiting = list(self._waiting)
            self._waiting.clear()
        pending = {id(seq.request): seq.request for seq in self._rows}
        pending.update({id(r): r for r in waiting})
        self._send()
        for request in pending.values():
            request.handle.push(error)
        self._rows = []
        self._batch = None
        self._running_requests = 0


def _peak_cache_bytes(entries: list[tuple[int, int]], layout: KVLayout) -> int:
    """Most bytes a batch of rows will hold, given (cached now, still to add) per row.

    Rows grow one column per step together and leave when they finish; the cache holds
    ``alive rows * the longest alive row's bytes`` (a sliding-window layer's row stops growing at
    its window), which peaks just before some row leaves.
    """
    peak = 0
    for _, steps in entries:
        alive = [(length, more) for length, more in entries if more >= steps]
        peak = max(peak, len(alive) * layout.row_bytes(max(length + steps for length, _ in alive)))
    return peak


def _release(batch: Any) -> None:
    """Give back what a batch holds outside Python (a llama.cpp batch's sequences)."""
    release = getattr(batch, "release", None)
    if release is not None:
        release()


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids: set[int] = set(getattr(model, "eos_token_ids", None) or ())
    generation_config = getattr(model, "generation_config", None)
    for source in (
        getattr(generation_config, "eos_token_id", None),
        getattr(tokenizer, "eos_token_id", None),
    ):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(int(i) for i in source)
    return sorted(ids)
