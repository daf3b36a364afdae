"""The engine on the real demo model (SmolLM2-135M-Instruct): the same text as ``generate``."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.engine import EngineConfig, GenerationEngine, SamplingParams

pytestmark = pytest.mark.slow

QUESTIONS = ["What is the capital of France?", "Name three colours.", "Say hello in Spanish."]


@pytest.fixture(scope="module")
def demo() -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from modelport.demo import demo_hf_folder

    folder = demo_hf_folder(progress=False)
    model = AutoModelForCausalLM.from_pretrained(folder)
    model.eval()
    return model, AutoTokenizer.from_pretrained(folder)


def chat_prompts(tokenizer: Any) -> list[list[int]]:
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": q}], add_generation_prompt=True, return_dict=False
        )
        for q in QUESTIONS
    ]


def generate_texts(model: Any, tokenizer: Any, prompts: list[list[int]], tokens: int) -> list[str]:
    """Greedy text from plain ``model.generate``, one prompt at a time."""
    import torch

    texts = []
    for prompt in prompts:
        with torch.inference_mode():
            out = model.generate(torch.tensor([prompt]), max_new_tokens=tokens, do_sample=False)
        texts.append(tokenizer.decode(out[0, len(prompt) :], skip_special_tokens=True))
    return texts


def greedy(tokens: int) -> SamplingParams:
    return SamplingParams(max_new_tokens=tokens, temperature=0.0)


def test_batched_greedy_text_equals_generate(demo: tuple[Any, Any]) -> None:
    model, tokenizer = demo
    prompts = chat_prompts(tokenizer)
    expected = generate_texts(model, tokenizer, prompts, 16)
    with GenerationEngine(model, tokenizer, EngineConfig()) as engine:
        handles = [engine.submit(p, greedy(16)) for p in prompts]
        texts = ["".join(event.text for event in handle) for handle in handles]
        # Again, now that the chat template's system prompt is in the prefix cache.
        again = engine.submit(prompts[0], greedy(16))
        text_again = "".join(event.text for event in again)
        stats = engine.stats()
    assert texts == expected
    assert "Paris" in texts[0]
    assert text_again == expected[0]
    assert stats["peak_running_sequences"] > 1
    assert stats["prefix_cache_hits"] >= 1


def test_requests_joining_a_running_batch_get_the_text_of_generate(
    demo: tuple[Any, Any],
) -> None:
    model, tokenizer = demo
    prompts = chat_prompts(tokenizer)
    expected = generate_texts(model, tokenizer, prompts, 24)
    with GenerationEngine(model, tokenizer, EngineConfig()) as engine:
        first = engine.submit(prompts[0], greedy(24))
        stream = iter(first)
        text = next(stream).text  # running: the others are prefilled in its decode steps
        late = [engine.submit(p, greedy(24)) for p in prompts[1:]]
        texts = [text + "".join(event.text for event in stream)]
        texts += ["".join(event.text for event in handle) for handle in late]
        stats = engine.stats()
    assert texts == expected
    assert stats["peak_running_sequences"] >= 2
    assert stats["prefills"] >= 2
