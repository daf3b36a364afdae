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


def test_batched_greedy_text_equals_generate(demo: tuple[Any, Any]) -> None:
    import torch

    model, tokenizer = demo
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": q}], add_generation_prompt=True, return_dict=False
        )
        for q in QUESTIONS
    ]
    expected = []
    for prompt in prompts:
        with torch.inference_mode():
            out = model.generate(torch.tensor([prompt]), max_new_tokens=16, do_sample=False)
        expected.append(tokenizer.decode(out[0, len(prompt) :], skip_special_tokens=True))
    with GenerationEngine(model, tokenizer, EngineConfig()) as engine:
        handles = [
            engine.submit(p, SamplingParams(max_new_tokens=16, temperature=0.0)) for p in prompts
        ]
        texts = ["".join(event.text for event in handle) for handle in handles]
        # Again, now that the chat template's system prompt is in the prefix cache.
        again = engine.submit(prompts[0], SamplingParams(max_new_tokens=16, temperature=0.0))
        text_again = "".join(event.text for event in again)
        stats = engine.stats()
    assert texts == expected
    assert "Paris" in texts[0]
    assert text_again == expected[0]
    assert stats["peak_running_sequences"] > 1
    assert stats["prefix_cache_hits"] >= 1
