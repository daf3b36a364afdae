"""A Hugging Face causal LM as a ``ChatModel``: OpenAI chat requests in, OpenAI responses out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from modelport.engine import SamplingParams, TokenLogprob
from modelport.flavors.transformers.lm import CausalLM, UsesLM, shown_logprob
from modelport.flavors.transformers.template import render_chat
from modelport.flavors.transformers.tools import (
    ToolPlan,
    ToolSupport,
    history_for_template,
    plan,
    resolve_format,
)
from modelport.model import ChatModel, Context
from modelport.structured.grammar import response_format_grammar
from modelport.structured.tools import ContentDelta, Delta
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
    """Chat through the tokenizer's chat template, generation through the shared engine; tools
    in the model's own format, or the generic one (:mod:`.tools`)."""

    def __init__(self, lm: CausalLM, tool_support: ToolSupport | None = None) -> None:
        super().__init__(lm)
        self.tool_support = tool_support or resolve_format(lm.tokenizer, None)

    def _prepare(
        self, messages: Any, params: ChatParams | None
    ) -> tuple[list[int], SamplingParams, ToolPlan | None]:
        params = params if params is not None else ChatParams()
        if not isinstance(params, ChatParams):
            params = ChatParams.parse(params)
        conversation = _as_messages(messages)
        tools = plan(self.tool_support, self.lm.tokenizer, conversation, params)
        if tools is None:
            grammar = response_format_grammar(params.response_format)
            history = history_for_template(self.tool_support, conversation, params)
            prompt_ids = render_chat(self.lm.tokenizer, history)
        else:
            grammar = tools.grammar
            prompt_ids = render_chat(self.lm.tokenizer, tools.messages, tools.template_tools)
        sampling = self.lm.sampling_params(params, len(prompt_ids), params.token_limit, grammar)
        if tools is not None and tools.support.native:
            sampling = replace(sampling, keep_special_tokens=True)  # markers are special tokens
        return prompt_ids, sampling, tools

    def predict(
        self, context: Context, messages: Sequence[ChatMessage], params: Any = None
    ) -> ChatCompletionResponse:
        prompt_ids, sampling, tools = self._prepare(messages, params)
        result = self.lm.generate(prompt_ids, sampling)
        choices = []
        for choice in result.choices:
            message = ChatMessage(role="assistant", content=choice.text)
            finish = choice.finish_reason
            if tools is not None:
                content, calls = tools.support.format.parse(choice.text, tools.tools)
                calls = calls if tools.parallel else calls[:1]
                if calls:
                    message = ChatMessage(
                        role="assistant",
                        content=content or None,
                        tool_calls=[call.to_wire() for call in calls],
                    )
                    finish = "tool_calls" if finish == "stop" else finish
                else:
                    message = ChatMessage(role="assistant", content=content or "")
            choices.append(
                ChatChoice(
                    index=choice.index,
                    message=message,
                    finish_reason=finish,
                    logprobs=chat_logprobs(self.lm, choice.logprobs),
                )
            )
        return ChatCompletionResponse(
            model=self.lm.model_name,
            choices=choices,
            usage=Usage(
                prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens
            ),
        )

    def predict_stream(
        self, context: Context, messages: Sequence[ChatMessage], params: Any = None
    ) -> Iterator[ChatCompletionChunk]:
        """Chunks as tokens come: the role first per choice, then text (or tool-call deltas in
        OpenAI's format), the finish reason, and a last usage-only chunk. Closing the iterator
        cancels the generation."""
        prompt_ids, sampling, tools = self._prepare(messages, params)
        handle = self.lm.submit(prompt_ids, sampling)
        chunk_id, created, name = new_id("chatcmpl"), now(), self.lm.model_name
        streams = (
            [tools.support.format.stream(tools.tools) for _ in range(sampling.n)]
            if tools is not None
            else None
        )
        parallel = tools.parallel if tools is not None else True

        def chunk(**fields: Any) -> ChatCompletionChunk:
            return ChatCompletionChunk(id=chunk_id, created=created, model=name, **fields)

        def choice(index: int, delta: ChatChoiceDelta, **fields: Any) -> ChatCompletionChunk:
            return chunk(choices=[ChatChunkChoice(index=index, delta=delta, **fields)])

        finished = False
        try:
            for index in range(sampling.n):
                yield choice(index, ChatChoiceDelta(role="assistant", content=""))
            for event in handle:
                if not event.text and event.finish_reason is None and not event.logprobs:
                    continue
                logprobs = chat_logprobs(self.lm, event.logprobs)
                if streams is None:
                    yield choice(
                        event.index,
                        ChatChoiceDelta(content=event.text or None),
                        finish_reason=event.finish_reason,
                        logprobs=logprobs,
                    )
                    continue
                stream = streams[event.index]
                deltas = stream.feed(event.text) if event.text else []
                if event.finish_reason is not None:
                    deltas += stream.finish()
                if not parallel:  # parallel_tool_calls: false keeps the first call only
                    deltas = [d for d in deltas if isinstance(d, ContentDelta) or d.index == 0]
                for delta in _tool_deltas(deltas):
                    yield choice(event.index, delta, logprobs=logprobs)
                    logprobs = None
                if event.finish_reason is not None:
                    reason = event.finish_reason
                    if stream.calls and reason == "stop":
                        reason = "tool_calls"
                    yield choice(
                        event.index, ChatChoiceDelta(), finish_reason=reason, logprobs=logprobs
                    )
                elif logprobs is not None:  # text held back: its logprobs still go out
                    yield choice(event.index, ChatChoiceDelta(), logprobs=logprobs)
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


def _tool_deltas(deltas: list[Delta]) -> Iterator[ChatChoiceDelta]:
    """Stream deltas as chunk deltas: text as ``content``, calls as ``tool_calls`` items."""
    for delta in deltas:
        if isinstance(delta, ContentDelta):
            if delta.text:
                yield ChatChoiceDelta(content=delta.text)
        else:
            yield ChatChoiceDelta(tool_calls=[delta.to_wire()])
