"""The completions task (``llm/v1/completions``) and plain ``text-generation`` (strings in/out)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from modelport.engine import TokenLogprob
from modelport.errors import InvalidRequestError, UnsupportedFeatureError
from modelport.flavors.transformers.lm import CausalLM, UsesLM, shown_logprob
from modelport.flavors.transformers.template import encode_prompt
from modelport.model import CompletionModel, Context, PythonModel
from modelport.types import (
    CompletionChoice,
    CompletionChunk,
    CompletionParams,
    CompletionResponse,
    Usage,
)
from modelport.types.chat import new_id, now
from modelport.types.completions import CompletionLogprobs


def _check(params: CompletionParams) -> None:
    if params.suffix:
        raise UnsupportedFeatureError(
            "'suffix' (fill-in-the-middle) is not supported by this model; leave it out",
            param="suffix",
        )
    if params.echo and params.logprobs is not None:
        raise UnsupportedFeatureError(
            "logprobs of the echoed prompt are not computed; use echo or logprobs, not both",
            param="logprobs",
        )


def completion_logprobs(
    lm: CausalLM, items: list[TokenLogprob] | None, offset: int = 0
) -> tuple[CompletionLogprobs | None, int]:
    """The legacy completions ``logprobs`` object for ``items``, whose first token starts at
    character ``offset`` of the choice's text; returns it and the offset after the last token."""
    if items is None:
        return None, offset
    tokens, offsets = [], []
    for item in items:
        tokens.append(lm.token_bytes(item.token_id).decode("utf-8", "replace"))
        offsets.append(offset)
        offset += len(tokens[-1])
    top = [
        {lm.token_bytes(t).decode("utf-8", "replace"): shown_logprob(lp) for t, lp in item.top}
        for item in items
    ]
    return (
        CompletionLogprobs(
            tokens=tokens,
            token_logprobs=[shown_logprob(item.logprob) for item in items],
            top_logprobs=top,
            text_offset=offsets,
        ),
        offset,
    )


def _submit_all(
    lm: CausalLM, prompts: Sequence[str], params: CompletionParams, *, strict: bool | None = None
) -> list[Any]:
    """Encode and check every prompt, then submit them all (cancelling those sent on an error).

    ``strict``: whether ``max_tokens`` was the client's (default: whether it was sent)."""
    _check(params)
    if strict is None:
        strict = "max_tokens" in params.model_fields_set
    encoded = [encode_prompt(lm.tokenizer, p) for p in prompts]
    samplings = [
        lm.sampling_params(params, len(ids), params.max_tokens, strict=strict) for ids in encoded
    ]
    handles: list[Any] = []
    try:
        for ids, sampling in zip(encoded, samplings, strict=True):
            handles.append(lm.submit(ids, sampling))
    except BaseException:
        for handle in handles:
            handle.cancel()
        raise
    return handles


class TransformersCompletionModel(UsesLM, CompletionModel):
    """Each prompt continued as plain text (no chat template); ``n`` choices per prompt.

    Choices are numbered prompt by prompt: prompt ``i``'s ``j``-th choice has index ``i * n + j``.
    """

    def predict(
        self, context: Context, prompts: Sequence[str], params: Any = None
    ) -> CompletionResponse:
        params = params if params is not None else CompletionParams()
        handles = _submit_all(self.lm, prompts, params)
        choices: list[CompletionChoice] = []
        prompt_tokens = completion_tokens = 0
        try:
            for i, handle in enumerate(handles):
                result = CausalLM.collect(handle, params.n)
                prompt_tokens += result.prompt_tokens
                completion_tokens += result.completion_tokens
                choices += [
                    CompletionChoice(
                        index=i * params.n + choice.index,
                        text=(prompts[i] if params.echo else "") + choice.text,
                        finish_reason=choice.finish_reason,
                        logprobs=completion_logprobs(self.lm, choice.logprobs)[0],
                    )
                    for choice in result.choices
                ]
        finally:
            for handle in handles:
                handle.cancel()  # a no-op for finished ones; frees the rest after an error
        return CompletionResponse(
            model=self.lm.model_name,
            choices=choices,
            usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
        )

    def predict_stream(
        self, context: Context, prompts: Sequence[str], params: Any = None
    ) -> Iterator[CompletionChunk]:
        params = params if params is not None else CompletionParams()
        handles = _submit_all(self.lm, prompts, params)
        chunk_id, created, name = new_id("cmpl"), now(), self.lm.model_name

        def chunk(
            index: int,
            text: str,
            finish_reason: str | None,
            logprobs: CompletionLogprobs | None = None,
        ) -> CompletionChunk:
            return CompletionChunk(
                id=chunk_id,
                created=created,
                model=name,
                choices=[
                    CompletionChoice(
                        index=index, text=text, finish_reason=finish_reason, logprobs=logprobs
                    )
                ],
            )

        finished = False
        try:
            # all prompts run together in the engine; their events are read prompt by prompt
            for i, handle in enumerate(handles):
                if params.echo:
                    for j in range(params.n):
                        yield chunk(i * params.n + j, prompts[i], None)
                offsets = [0] * params.n
                for event in handle:
                    if event.text or event.finish_reason is not None or event.logprobs:
                        logprobs, offsets[event.index] = completion_logprobs(
                            self.lm, event.logprobs, offsets[event.index]
                        )
                        yield chunk(
                            i * params.n + event.index, event.text, event.finish_reason, logprobs
                        )
            finished = True
            yield CompletionChunk(
                id=chunk_id,
                created=created,
                model=name,
                choices=[],
                usage=Usage(
                    prompt_tokens=sum(int(h.prompt_tokens) for h in handles),
                    completion_tokens=sum(len(ids) for h in handles for ids in h.completion_tokens),
                ),
            )
        finally:
            if not finished:
                for handle in handles:
                    handle.cancel()


_TEXT_PARAMS = ("max_new_tokens", "temperature", "top_p", "top_k", "seed", "stop")


class TextGenerationModel(UsesLM, PythonModel):
    """``text-generation``: a prompt string (or a list of them) in, generated strings out.

    Params: ``max_new_tokens``, ``temperature`` (0 = greedy, the default), ``top_p``, ``top_k``,
    ``seed``, ``stop``.
    """

    @staticmethod
    def _prompts(model_input: Any) -> list[str]:
        if isinstance(model_input, str):
            return [model_input]
        if hasattr(model_input, "iloc"):  # a pandas DataFrame: its first column
            model_input = list(model_input.iloc[:, 0])
        if isinstance(model_input, dict) and len(model_input) == 1:
            model_input = next(iter(model_input.values()))
        if (
            isinstance(model_input, (list, tuple))
            and model_input
            and all(isinstance(p, str) for p in model_input)
        ):
            return list(model_input)
        raise InvalidRequestError(
            "A text-generation model takes a prompt string or a non-empty list of strings, got "
            f"{type(model_input).__name__}"
        )

    def predict(
        self, context: Context, model_input: Any, params: dict[str, Any] | None = None
    ) -> list[str]:
        given = {k: v for k, v in (params or {}).items() if v is not None}
        unknown = sorted(set(given) - set(_TEXT_PARAMS))
        if unknown:
            raise InvalidRequestError(
                f"Unknown param(s) {', '.join(unknown)}; accepted: {', '.join(_TEXT_PARAMS)}"
            )
        request = CompletionParams.parse(
            {
                "max_tokens": given.get("max_new_tokens", self.lm.default_max_new_tokens),
                "temperature": given.get("temperature", 0.0),
                **{k: given[k] for k in ("top_p", "top_k", "seed", "stop") if k in given},
            }
        )
        handles = _submit_all(
            self.lm, self._prompts(model_input), request, strict="max_new_tokens" in given
        )
        try:
            return [CausalLM.collect(handle, 1).choices[0].text for handle in handles]
        finally:
            for handle in handles:
                handle.cancel()
