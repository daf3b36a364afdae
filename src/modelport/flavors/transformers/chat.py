"""A Hugging Face causal LM as a ``ChatModel``: OpenAI chat requests in, OpenAI responses out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from modelport.engine import TokenLogprob
from modelport.flavors.transformers.lm import CausalLM, UsesLM, shown_logprob
from modelport.flavors.transformers.template import render_chat
from modelport.model import ChatModel, Context
from modelport.structured.grammar import response_format_grammar
from modelport.types import (
    ChatChoice,
    ChatChoiceDelta,
    ChatChunkChoice,
    ChatCompletionChunk,
    ChatCompletionResponse,
    ChatMessage,
    ChatParams,
    Usage,
)
from modelport.types.chat import ChoiceLogprobs, TopLogprob, new_id, now
from modelport.types.chat import TokenLogprob as WireTokenLogprob


def _as_messages(messages: Any) -> list[ChatMessage]:
    return [ChatMessage.parse(m) for m in messages]


def chat_logprobs(lm: CausalLM, items: list[TokenLogprob] | None) -> ChoiceLogprobs | None:
    """The engine's logprobs as OpenAI's ``choices[i].logprobs`` (``content``: one per token)."""
    if items is None:
        return None

    def entry(token_id: int, logprob: float) -> dict[str, Any]:
        raw = lm.token_bytes(token_id)
        return {
            "token": raw.decode("utf-8", "replace"),
            "bytes": list(raw),
            "logprob": shown_logprob(logprob),
        }

    return ChoiceLogprobs(
        content=[
            WireTokenLogprob(
                **entry(item.token_id, item.logprob),
                top_logprobs=[TopLogprob(**entry(t, lp)) for t, lp in item.top],
            )
            for item in items
        ]
    )


class TransformersChatModel(UsesLM, ChatModel):
    """Chat through the tokenizer's chat template, generation through the shared engine."""

    def _prepare(self, messages: Any, params: ChatParams | None) -> tuple[list[int], Any]:
        params = params if params is not None else ChatParams()
        if not isinstance(params, ChatParams):
            params = ChatParams.parse(params)
        grammar = response_format_grammar(params.response_format)
        prompt_ids = render_chat(self.lm.tokenizer, _as_messages(messages), params)
        sampling = self.lm.sampling_params(params, len(prompt_ids), params.token_limit, grammar)
        return prompt_ids, sampling

    def predict(
        self, context: Context, messages: Sequence[ChatMessage], params: Any = None
    ) -> ChatCompletionResponse:
        prompt_ids, sampling = self._prepare(messages, params)
        result = self.lm.generate(prompt_ids, sampling)
        return ChatCompletionResponse(
            model=self.lm.model_name,
            choices=[
                ChatChoice(
                    index=choice.index,
                    message=ChatMessage(role="assistant", content=choice.text),
                    finish_reason=choice.finish_reason,
                    logprobs=chat_logprobs(self.lm, choice.logprobs),
                )
                for choice in result.choices
            ],
            usage=Usage(
                prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens
            ),
        )

    def predict_stream(
        self, context: Context, messages: Sequence[ChatMessage], params: Any = None
    ) -> Iterator[ChatCompletionChunk]:
        """Chunks as tokens come: the role first per choice, then text, the finish reason, and a
        last usage-only chunk. Closing the iterator cancels the generation."""
        prompt_ids, sampling = self._prepare(messages, params)
        handle = self.lm.submit(prompt_ids, sampling)
        chunk_id, created, name = new_id("chatcmpl"), now(), self.lm.model_name

        def chunk(**fields: Any) -> ChatCompletionChunk:
            return ChatCompletionChunk(id=chunk_id, created=created, model=name, **fields)

        finished = False
        try:
            for index in range(sampling.n):
                yield chunk(
                    choices=[
                        ChatChunkChoice(
                            index=index, delta=ChatChoiceDelta(role="assistant", content="")
                        )
                    ]
                )
            for event in handle:
                if not event.text and event.finish_reason is None and not event.logprobs:
                    continue
                yield chunk(
                    choices=[
                        ChatChunkChoice(
                            index=event.index,
                            delta=ChatChoiceDelta(content=event.text or None),
                            finish_reason=event.finish_reason,
                            logprobs=chat_logprobs(self.lm, event.logprobs),
                        )
                    ]
                )
            finished = True
            completion_tokens = sum(len(ids) for ids in handle.completion_tokens)
            yield chunk(
                usage=Usage(
                    prompt_tokens=int(handle.prompt_tokens), completion_tokens=completion_tokens
                )
            )
        finally:
            if not finished:  # the consumer went away (client disconnect): free the batch slot
                handle.cancel()
