"""Every architecture in ``TINY_ARCHITECTURES`` (tests/conftest.py) saved as a chat package and
served: the answer equals the model's own greedy ``generate``, streamed or not, alone or with
three other requests at once, and the package says which engine path serves it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import torch

import modelport
import modelport.transformers
from modelport.cli.main import main
from modelport.flavors.transformers.template import render_chat
from modelport.types import ChatMessage

QUESTIONS = ["Hello, how are you?", "Hi", "What is the capital of France?", "List three fruits."]
MAX_TOKENS = 24


def request(question: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": question}],
        "temperature": 0,
        "max_tokens": MAX_TOKENS,
    }


def generate_text(model: Any, tokenizer: Any, question: str) -> str:
    prompt = render_chat(tokenizer, [ChatMessage.parse(request(question)["messages"][0])])
    with torch.inference_mode():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=MAX_TOKENS, do_sample=False)
    ids = out[0, len(prompt) :].tolist()
    eos = tokenizer.eos_token_id
    ids = ids[: ids.index(eos)] if eos in ids else ids
    return str(tokenizer.decode(ids, skip_special_tokens=True))


def streamed_text(loaded: Any, question: str) -> str:
    chunks = loaded.predict_stream(request(question))
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def test_every_architecture_is_served_as_a_chat_model(
    make_tiny_causal_lm: Any,
    demo_tokenizer: Any,
    architecture: str,
    auto_path: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = make_tiny_causal_lm(architecture)
    expected = [generate_text(model, demo_tokenizer, q) for q in QUESTIONS]
    folder = tmp_path / architecture
    model.save_pretrained(folder)
    demo_tokenizer.save_pretrained(folder)
    modelport.transformers.save_model(
        tmp_path / "package",
        transformers_model=folder,
        task="llm/v1/chat",
        dtype="float32",
        progress=False,
    )
    path = auto_path
    monkeypatch.setenv("COLUMNS", "250")  # the reason in full, on one line
    assert main(["info", "-m", str(tmp_path / "package")]) == 0
    rows = [line.split(maxsplit=2) for line in capsys.readouterr().out.splitlines()]
    assert [row[2].split()[0] for row in rows if row[:2] == ["engine", "path"]] == [path]
    with modelport.load_model(tmp_path / "package") as loaded:
        alone = [loaded.predict(request(q))["choices"][0]["message"]["content"] for q in QUESTIONS]
        assert alone == expected
        assert [streamed_text(loaded, q) for q in QUESTIONS] == expected
        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            assert list(pool.map(lambda q: streamed_text(loaded, q), QUESTIONS)) == expected
        info = loaded.engine_info()
        assert info is not None and info["path"] == path
