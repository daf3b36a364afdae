"""A completions model for the server tests: answers each prompt upper-cased."""

from modelport import CompletionModel, set_model
from modelport.types import CompletionResponse


class Shout(CompletionModel):
    def predict(self, context, prompts, params):
        choices = []
        for p, prompt in enumerate(prompts):
            text = prompt.upper()[: params.max_tokens]
            for i in range(params.n):
                choices.append({"index": p * params.n + i, "text": text})
        return CompletionResponse(
            choices=choices,
            usage={"prompt_tokens": len(prompts), "completion_tokens": len(choices)},
        )


set_model(Shout())
