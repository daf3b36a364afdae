"""Every runnable file in ``examples/`` runs, from a foreign working directory, and shows its point.

To add an example: put it in ``examples/`` with an ``if __name__ == "__main__":`` block and add an
``Example`` to ``EXAMPLES`` with lines its output must contain (``slow=True`` if it needs the real
demo model). ``test_every_example_is_listed`` fails until it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


@dataclass(frozen=True)
class Example:
    path: str  # relative to examples/
    expected: tuple[str, ...]  # each must appear in stdout
    slow: bool = False
    timeout: float = 60


EXAMPLES = [
    Example(
        "echo_chat_model.py",
        (
            "saved llm/v1/chat model to echo-model/ (streamable: True)",
            'predict -> {"role": "assistant", "content": "system: You are an echo.\\nuser: Hello, echo!"}',
            'usage -> {"completion_tokens": 8, "prompt_tokens": 2, "total_tokens": 10}',
            "stream -> ['Hello, ', 'echo! ', '']",
        ),
    ),
    Example(
        "custom_inputs_chat_model.py",
        (
            'custom_outputs -> {"seed": "abc", "max_tokens": 4, "temperature": 0.3}',
            "same seed, same words -> True",
            "other seed, other words -> True",
        ),
    ),
    Example(
        "models_from_code/run.py",
        (
            "   artifacts/faq/faq.json",
            "   model_code/faq_model.py",
            "   model_config.yaml",
            "stored as code, not a pickle -> True",
            "A: Shipping takes 2 to 4 working days. -- the FAQ bot",
            "A: Refunds are accepted within 30 days with the receipt. -- the FAQ bot",
            "A: Sorry, I do not know that one yet. -- the FAQ bot",
        ),
    ),
    Example(
        "python_model_with_params.py",
        (
            "loading a pickle warns -> UnsafePickleWarning",
            "  ['temperature': double (default: 0.1), 'max_tokens': long (default: 1000)]",
            "predict -> 'What is ML?' answered with temperature=0.6 and max_tokens=1000",
            "unknown param -> Unknown param 'top_k'; accepted params: temperature, max_tokens",
            "  ['max_tokens': long (default: 50), 'temperature': double (default: 0.7)]",
            "  ['reply': string (required)]",
            "default -> What is MLflow? (max_tokens=50)",
            "override -> What is MLflow? (max_tokens=25)",
        ),
    ),
    Example(
        "dataframe_input.py",
        (
            "  ['prompt': string (required), 'weight': double (required)]",
            "DataFrame -> ['A FRAME (got a DataFrame)']",
            "dict of lists -> ['COLUMNS (got a dict)']",
            "one row -> ['ONE ROW (got a dict)']",
            "records -> ['RECORDS (got a dict)']",
            "wrong type -> column 'prompt' expects string, got int 42 (param: prompt)",
        ),
    ),
    Example(
        "wrapping_a_chat_model.py",
        (
            "id -> chatcmpl-disclaimer-1",
            "model -> disclaimer",
            "content -> CAN I SUE MY CAT (not legal advice)",
            'usage -> {"completion_tokens": 8, "prompt_tokens": 5, "total_tokens": 13}',
        ),
    ),
    Example(
        "async_chat_model.py",
        (
            "streamable -> True | async -> True",
            "predict -> You said: one",
            "predict_stream -> ['You', 'said:', 'one', None]",
            "acall -> You said: two",
            "astream -> ['You', 'said:', 'two', None]",
        ),
    ),
    Example(
        "bad_inputs.py",
        (
            "  -> PackageError (HTTP 400, param=None)\n"
            "     ReturnsADict.predict() must return a ChatCompletionResponse, got dict",
            "  the failed save left behind: []",
            "a message without a role\n  -> InvalidRequestError (HTTP 400, param='messages[0].role')",
            "an unknown role\n  -> InvalidRequestError (HTTP 400, param='messages[0].role')",
            "(got 'wizard')",
            "temperature 5\n  -> InvalidRequestError (HTTP 400, param='temperature')",
            "no messages at all\n  -> InvalidRequestError (HTTP 400, param='messages')",
            "five stop strings\n  -> InvalidRequestError (HTTP 400, param='stop')",
            "saving over an existing package\n  -> AlreadyExistsError (HTTP 409, param=None)",
            "loading a path that does not exist\n  -> NotFoundError (HTTP 404, param='model')",
        ),
    ),
    Example(
        "tracking_and_registry.py",
        (
            "run 'Hi': Hi, Ada! -> version 1",
            "run 'Good day, dear': Good day, dear, Ada! -> version 2",
            "best run -> good-day-dear (politeness 3)",
            "models:/greeter@production is version 2",
            "production says -> Good day, dear, Grace!",
        ),
    ),
    Example(
        "transformers_chat_pipeline.py",
        (
            "saved: chat_template.jinja, config.json, generation_config.json, model.safetensors",
            "answer -> The capital of France is Paris.",
            "finish_reason -> stop",
            'usage -> {"completion_tokens": 7, "prompt_tokens": 37, "total_tokens": 44}',
            # the words after "Hello" differ between float32 and bf16 (dtype="auto" on a CPU
            # with native bf16): the other lines hold in both
            "streamed -> Hello",
            "token by token -> True",
            "  ['messages': Array({role: string (required), content: string | Array(object)",
        ),
        slow=True,
        timeout=300,
    ),
    Example(
        "openai_compatible_proxy.py",
        (
            "saved a proxy to the demo server",
            "answer -> The capital of France is Paris.",
            "with stop ' Paris' -> The capital of France is",
            "max_tokens 2 -> finish_reason length",
            "streamed in many pieces -> The capital of France is Paris.",
            "same seed, same words -> True",
        ),
        slow=True,
        timeout=300,
    ),
    Example(
        "tool_calls_from_a_chat_model.py",
        (
            "finish_reason -> tool_calls",
            'call -> get_weather {"city": "Paris"}',
            'streamed -> [\'get_weather\'] {"city": "Paris"}',
            "answer -> Here it is: 18 C, sunny",
        ),
    ),
    Example(
        "tool_calling_agent_loop.py",
        (
            "finish_reason -> tool_calls",
            "called -> get_weather ['city', 'unit']",
            "streamed arguments join -> True",
            "answer after the tool -> True",
        ),
        slow=True,
        timeout=300,
    ),
]


def _params() -> list[object]:
    return [
        pytest.param(example, id=example.path, marks=[pytest.mark.slow] if example.slow else [])
        for example in EXAMPLES
    ]


@pytest.mark.parametrize("example", _params())
def test_example_runs_and_prints_what_it_shows(example: Example, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}

    result = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / example.path)],
        cwd=tmp_path,  # any directory: examples find their files from __file__
        env=env,
        capture_output=True,
        text=True,
        timeout=example.timeout,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for line in example.expected:
        assert line in result.stdout, f"{example.path} did not print {line!r}"
    assert list(tmp_path.iterdir()) == []  # examples write only to their own temp dirs


def test_every_example_is_listed() -> None:
    runnable = {
        path.relative_to(EXAMPLES_DIR).as_posix()
        for path in EXAMPLES_DIR.rglob("*.py")
        if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
    }

    listed = {example.path for example in EXAMPLES}

    assert not runnable - listed, (
        f"add these to EXAMPLES in {__file__}: {sorted(runnable - listed)}"
    )
    assert not listed - runnable, f"listed but missing from examples/: {sorted(listed - runnable)}"


def test_the_readme_chat_model_example_runs(tmp_path: Path) -> None:
    readme = (EXAMPLES_DIR.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Write a chat model", 1)[1].split("\n## ", 1)[0]
    model_file, code = (block.split("```", 1)[0] for block in section.split("```python")[1:3])
    (tmp_path / "echo_model.py").write_text(model_file, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "'content': 'Hello!'" in result.stdout
    assert "chat.completion" in result.stdout
    assert "'delta': {'content': 'Hi', 'role': 'assistant'}" in result.stdout
    assert "Warning" not in result.stderr  # saved as code: no pickle to warn about


def test_the_foundation_examples_type_check() -> None:
    """Typed subclasses (``params: ChatParams``…) must pass mypy against modelport's base classes."""
    api = pytest.importorskip("mypy.api")
    repo = EXAMPLES_DIR.parent
    files = [
        "echo_chat_model.py",
        "custom_inputs_chat_model.py",
        "models_from_code/faq_model.py",
        "models_from_code/run.py",
        "python_model_with_params.py",
        "dataframe_input.py",
        "wrapping_a_chat_model.py",
        "bad_inputs.py",
        "async_chat_model.py",
    ]

    out, err, status = api.run(
        [
            "--config-file",
            str(repo / "pyproject.toml"),
            "--cache-dir",
            str(repo / ".mypy_cache"),
            *(str(EXAMPLES_DIR / f) for f in files),
        ]
    )

    assert status == 0, out + err
