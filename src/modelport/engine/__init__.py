"""Batched token generation for transformers models.

The contract between the transformers flavor and the engine (the engine's internals are free)::

    engine = GenerationEngine(model, tokenizer, EngineConfig(...))
    handle = engine.submit(prompt_ids, SamplingParams(max_new_tokens=64, temperature=0.0, n=1))
    for event in handle:            # blocks; ends when all n sequences have finished
        event.index                 # which of the n sequences (0..n-1)
        event.text                  # new text, safe to show: never a partial UTF-8 character,
                                    # never a prefix of a stop string that may still complete
        event.token_ids             # the token ids this event accounts for
        event.finish_reason         # None, or "stop" (EOS / stop string) / "length" on the last
    handle.prompt_tokens            # len(prompt_ids)
    handle.completion_tokens        # list: generated ids per sequence (EOS excluded)
    handle.cancel()                 # leaves the batch at the next step and frees its cache
    engine.stats()                  # dict: tokens_generated, running, waiting, steps
    engine.shutdown()

``submit`` raises ``ContextLengthExceededError`` when the prompt does not fit the context, and
``InvalidRequestError`` (naming the parameter) for settings out of range: a request is checked
before it joins the batch, and an error caused by one request's settings inside the loop fails
that request only (see docs/engine.md, "Isolation").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import Field

from modelport.settings import Settings

FinishReason = Literal["stop", "length"]

if TYPE_CHECKING:
    import torch


class RowConstraint(Protocol):
    """One sequence's grammar state (``modelport.structured.grammar`` implements it)."""

    @property
    def done(self) -> bool:
        """Complete: the sequence ends with "stop"."""
        ...

    def allowed(self) -> torch.Tensor:
        """Bool over the vocabulary: the tokens allowed next."""
        ...

    def advance(self, token: int) -> None: ...


class Constraint(Protocol):
    """A compiled grammar; each of a request's ``n`` sequences gets its own row state."""

    def new_row(self) -> RowConstraint: ...


@dataclass(frozen=True)
class TokenLogprob:
    """The log-probability of a generated token, and the ``top`` alternatives (best first), in
    the distribution it was drawn from (see docs/engine.md, "Logprobs")."""

    token_id: int
    logprob: float
    top: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class SamplingParams:
    """Per-request generation settings (OpenAI semantics); temperature 0 means greedy."""

    max_new_tokens: int
    temperature: float = 1.0
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    n: int = 1
    # (token id, bias) pairs added to the logits before sampling (OpenAI: -100 bans, 100 forces)
    logit_bias: tuple[tuple[int, float], ...] = ()
    # a grammar the output must follow (response_format, forced tool calls)
    constraint: Constraint | None = None
    # report each token's logprob and this many alternatives (0-20); None: no logprobs
    logprobs: int | None = None
    # decode special tokens into the text (tool-call markers such as <|python_tag|>)
    keep_special_tokens: bool = False


@dataclass
class StreamEvent:
    """What one sequence produced since its previous event."""

    index: int
    text: str
    token_ids: list[int] = field(default_factory=list)
    finish_reason: FinishReason | None = None
    # one per token id when the request asked for logprobs
    logprobs: list[TokenLogprob] | None = None


class EngineConfig(Settings):
    """Engine settings. ``batching=False`` runs one request at a time (the benchmark baseline).

    Built from keywords or a dict (``EngineConfig.parse({...})``); a bad or unknown field is an
    ``InvalidRequestError`` naming it.
    """

    batching: bool = True
    max_batch_size: int = Field(32, ge=1)
    max_tokens_per_step: int = Field(2048, ge=1)
    kv_cache_bytes: int | None = Field(None, ge=1)
    # Added by the engine: reuse the keys and values of prompt prefixes that recent prompts
    # shared (a chat template's system prompt), so that only the rest of a prompt is prefilled.
    prefix_cache: bool = True
    # Added by the engine: torch's intra-op threads (a process-wide setting). None: measured
    # while running, between one per core and one per core but one (OMP_NUM_THREADS fixes it).
    num_threads: int | None = Field(None, ge=1)
    # Added by the engine: how steps run (modelport.engine.runners). "auto": packed where the
    # model's attention and cache allow it, else padded where its cache is keys and values only,
    # else serial (one request at a time); "packed", "padded" or "serial" force one.
    path: Literal["auto", "packed", "padded", "serial"] = "auto"


from modelport.engine.engine import GenerationEngine  # noqa: E402  (needs the types above)
from modelport.engine.handle import GenerationHandle  # noqa: E402

__all__ = [
    "Constraint",
    "EngineConfig",
    "FinishReason",
    "GenerationEngine",
    "GenerationHandle",
    "RowConstraint",
    "SamplingParams",
    "StreamEvent",
    "TokenLogprob",
]
