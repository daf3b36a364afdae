"""A fixed set of varied, short chat prompts (the same in every run, so runs compare)."""

from __future__ import annotations

PROMPTS: tuple[str, ...] = (
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain gravity in one sentence.",
    "List three fruits that are rich in vitamin C.",
    "How do I reverse a list in Python?",
    "Give me a name for a friendly robot.",
    "What is the difference between weather and climate?",
    "Translate 'good morning' into Spanish and German.",
    "Why is the sky blue?",
    "Suggest a healthy breakfast.",
    "What does a compiler do?",
    "Write a short greeting for a birthday card.",
    "Name the planets of the solar system.",
    "How many legs does a spider have?",
    "Describe a cat in three words.",
    "What is photosynthesis?",
    "Give one tip for learning a new language.",
    "What is 12 times 12?",
    "Write a two-line poem about autumn.",
    "Who wrote Romeo and Juliet?",
    "What is the boiling point of water at sea level?",
    "Explain what an API is to a child.",
    "Recommend a book for a long flight.",
    "What are the primary colours?",
    "How does a rainbow form?",
    "Give me a fun fact about octopuses.",
    "What is the tallest mountain on Earth?",
    "Write a motto for a coffee shop.",
    "Why do we have seasons?",
    "What is a prime number?",
    "Suggest a name for a small bakery.",
    "How can I stay focused while studying?",
)


def messages(i: int) -> list[dict[str, str]]:
    """The chat messages of prompt ``i`` (cycling through the set)."""
    return [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
