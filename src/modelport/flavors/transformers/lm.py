"""``CausalLM``: what the chat, completions and text-generation models share — the Hugging Face
model and tokenizer, one generation engine per loaded model, the new-token limit, and OpenAI
params → ``SamplingParams``.

The new-token limit of a request is its ``max_completion_tokens`` / ``max_tokens``, else the
package's ``model_config["max_new_tokens"]``, else the model's ``generation_config.max_new_tokens``,
else :data:`DEFAULT_MAX_NEW_TOKENS`; it is then cut to what still fits in the context after the
prompt. A prompt that fills the context alone is refused (``ContextLengthExceededError``).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelport.engine import EngineConfig, SamplingParams, TokenLogprob
from modelport.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
)
from modelport.flavors.transformers.config import DEFAULT_MAX_NEW_TOKENS
from modelport.model import Context
from modelport.structured.grammar import Grammars

# tokenizers without a real limit report a huge model_max_length
_NO_LIMIT = 10**8


@dataclass
class GeneratedChoice:
    index: int
    text: str
    finish_reason: str
    completion_tokens: int
    # per generated token, when the request asked for logprobs
    logprobs: list[TokenLogprob] | None = None


@dataclass
class Generation:
    """The finished result of one submitted prompt (all of its n sequences)."""

    choices: list[GeneratedChoice]
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return sum(choice.completion_tokens for choice in self.choices)


def context_length(model: Any, tokenizer: Any) -> int | None:
    """The number of positions the model can attend to (prompt + completion), if known."""
    limits = []
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            limits.append(value)
            break
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < _NO_LIMIT:
        limits.append(value)
    return min(limits) if limits else None


class CausalLM:
    """One loaded causal LM with its generation engine; shut down by :meth:`close` (or at exit)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        engine_config: EngineConfig | None = None,
        *,
        model_name: str = "transformers-model",
        max_new_tokens: int | None = None,
        dtype_reason: str = "as given",
        runner: Any = None,
    ) -> None:
        """``runner``: the engine's step runner (:mod:`modelport.engine.runners`; None: chosen
        for the model, as the transformers flavor does; the gguf flavor gives llama.cpp's)."""
        from modelport.engine import GenerationEngine

        self.model = model
        self.tokenizer = tokenizer
        self.model_name = model_name
        self.context_length = context_length(model, tokenizer)
        generation_config = getattr(model, "generation_config", None)
        configured = getattr(generation_config, "max_new_tokens", None)
        self.default_max_new_tokens: int = max_new_tokens or configured or DEFAULT_MAX_NEW_TOKENS
        self.load_seconds = 0.0
        self.dtype_reason = dtype_reason  # why the weights are in their dtype (dtype="auto")
        self.engine = GenerationEngine(
            model, tokenizer, engine_config or EngineConfig(), runner=runner
        )
        self._finalizer = weakref.finalize(self, self.engine.shutdown)
        self.grammars = Grammars(
            tokenizer,
            vocab_size=self.engine.vocab_size,
            eos_token_ids=sorted(self.engine.eos_token_ids),
        )

    def close(self) -> None:
        """Stop the engine (idempotent)."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def stats(self) -> dict[str, float]:
        """The engine's counters (the loaded model's ``stats()``, read by ``/metrics``)."""
        return dict(self.engine.stats())

    def engine_info(self) -> dict[str, str]:
        """How the engine runs this model: its path and why, the weights' dtype and why
        (``/v1/models`` shows it)."""
        return {**self.engine.describe(), "dtype_reason": self.dtype_reason}

    # --- params -----------------------------------------------------------------------------

    def token_limit(
        self,
        prompt_tokens: int,
        requested: int | None,
        param: str = "max_tokens",
        *,
        strict: bool = True,
    ) -> int:
        """The new-token limit: ``requested`` (named ``param``), else the model's default, cut
        to what the context leaves. A request that asks for more than the context can hold is
        refused (the prompt counts), as vLLM does; the default is cut silently."""
        limit = requested or self.default_max_new_tokens
        if self.context_length is None:
            return limit
        room = self.context_length - prompt_tokens
        if room <= 0:
            raise ContextLengthExceededError(
                f"This model's maximum context length is {self.context_length} tokens, but the "
                f"prompt has {prompt_tokens} tokens, leaving no room for a completion; shorten "
                "the messages",
                param="messages",
            )
        if strict and requested is not None and requested > room:
            raise ContextLengthExceededError(
                f"This model's maximum context length is {self.context_length} tokens, but "
                f"{prompt_tokens + requested} were requested ({prompt_tokens} in the prompt, "
                f"{requested} in the completion); set {param} to at most {room}, or shorten "
                "the prompt",
                param=param,
            )
        return min(limit, room)

    def sampling_params(
        self,
        params: Any,
        prompt_tokens: int,
        requested: int | None,
        grammar: str | None = None,
        *,
        strict: bool = True,
    ) -> SamplingParams:
        """OpenAI request params (``ChatParams`` or ``CompletionParams``) → ``SamplingParams``.

        ``grammar``: what the output must follow (``modelport.structured.grammar``), compiled
        here, in the caller's thread, so that the engine's loop never waits for a compile.
        ``strict``: ``requested`` is the client's (one the context cannot hold is a 400), not a
        default (cut to fit).
        """
        constraint = self.grammars.constraint(grammar) if grammar is not None else None
        logprobs = requested_logprobs(params)
        if logprobs is not None:
            self.grammars.lltokenizer()  # token bytes come from it: fail now, not mid-stream
        param = "max_completion_tokens" if getattr(params, "max_completion_tokens", None) else None
        return SamplingParams(
            max_new_tokens=self.token_limit(
                prompt_tokens, requested, param or "max_tokens", strict=strict
            ),
            temperature=float(params.temperature),
            top_p=params.top_p,
            top_k=params.top_k,
            seed=params.seed,
            presence_penalty=float(params.presence_penalty or 0.0),
            frequency_penalty=float(params.frequency_penalty or 0.0),
            stop=tuple(params.stop_sequences),
            n=params.n,
            logit_bias=tuple(
                (int(token), float(bias))
                for token, bias in (getattr(params, "logit_bias", None) or {}).items()
            ),
            constraint=constraint,
            logprobs=logprobs,
        )

    def token_bytes(self, token_id: int) -> bytes:
        """The exact bytes of one token (a token may hold part of a UTF-8 character)."""
        return bytes(self.grammars.lltokenizer().decode_bytes([token_id]))

    # --- generation -------------------------------------------------------------------------

    def submit(self, prompt_ids: Sequence[int], sampling: SamplingParams) -> Any:
        """Queue one prompt; the handle is cancelled if the server cancels the request."""
        from modelport.cancellation import current_token

        handle = self.engine.submit(list(prompt_ids), sampling)
        token = current_token()
        if token is not None:  # a server request past its time limit, or whose client left
            token.add_callback(handle.cancel)
        return handle

    def generate(self, prompt_ids: Sequence[int], sampling: SamplingParams) -> Generation:
        """Run one prompt to the end (all n sequences); stops early if the server cancels."""
        return self.collect(self.submit(prompt_ids, sampling), sampling.n)

    @staticmethod
    def collect(handle: Any, n: int) -> Generation:
        texts = [""] * n
        reasons = ["stop"] * n
        logprobs: list[list[TokenLogprob] | None] = [None] * n
        try:
            for event in handle:
                texts[event.index] += event.text
                if event.logprobs is not None:
                    logprobs[event.index] = (logprobs[event.index] or []) + event.logprobs
                if event.finish_reason is not None:
                    reasons[event.index] = event.finish_reason
        except BaseException:
            handle.cancel()
            raise
        counts = [len(ids) for ids in handle.completion_tokens]
        return Generation(
            choices=[
                GeneratedChoice(
                    index=i,
                    text=texts[i],
                    finish_reason=reasons[i],
                    completion_tokens=counts[i],
                    logprobs=logprobs[i],
                )
                for i in range(n)
            ],
            prompt_tokens=int(handle.prompt_tokens),
        )


# What OpenAI reports for a token that had no chance (JSON has no -Infinity).
LOGPROB_FLOOR = -9999.0


def shown_logprob(logprob: float) -> float:
    """A logprob as the API shows it: -inf (a token the grammar or top-k ruled out) is -9999."""
    return max(logprob, LOGPROB_FLOOR)


def requested_logprobs(params: Any) -> int | None:
    """How many alternatives per token the request asks for; None: no logprobs.

    Chat: ``logprobs: true`` with ``top_logprobs`` 0-20 (``top_logprobs`` alone is a 400, as in
    OpenAI's API). Completions: the legacy ``logprobs: N`` (0-5).
    """
    if not hasattr(params, "top_logprobs"):  # completions
        logprobs = getattr(params, "logprobs", None)
        return None if logprobs is None else int(logprobs)
    if not params.logprobs:
        if params.top_logprobs:
            raise InvalidRequestError("top_logprobs needs logprobs: true", param="top_logprobs")
        return None
    return int(params.top_logprobs or 0)


class UsesLM:
    """What the flavor's task models (chat, completions, text-generation) share: their
    :class:`CausalLM`, built by the flavor before ``load_context``, closed with them."""

    def __init__(self, lm: CausalLM) -> None:
        self.lm = lm

    def load_context(self, context: Context) -> None:
        """Nothing to load: the flavor built the model and its engine already."""

    def close(self) -> None:
        """Stop the generation engine."""
        self.lm.close()

    def stats(self) -> dict[str, float]:
        """The engine's counters, exported at ``/metrics``."""
        return self.lm.stats()

    def engine_info(self) -> dict[str, str]:
        """The engine's path and why it was chosen, shown by ``/v1/models``."""
        return self.lm.engine_info()
