"""The fixed signatures of the chat and completions tasks."""

from __future__ import annotations

from modelport.signature import (
    chat_signature,
    completions_signature,
)

# --- the LLM task signatures ------------------------------------------------------------------


def test_chat_and_completions_signatures_name_their_inputs() -> None:
    chat = chat_signature()
    completions = completions_signature()

    assert chat.inputs is not None and chat.inputs["required"] == ["messages"]
    assert completions.inputs is not None and completions.inputs["required"] == ["prompt"]
    assert "'messages': Array({role: string (required)" in repr(chat)
