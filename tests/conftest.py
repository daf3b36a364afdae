"""Shared fixtures: every test runs in its own working directory with its own tracking store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from modelport import LoadedModel


@pytest.fixture(autouse=True)
def _isolated_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own cwd and tracking location, so no test sees another's files."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELPORT_TRACKING_URI", raising=False)
    yield tmp_path


@pytest.fixture(scope="session")
def demo_model_uri() -> str:
    """The real demo chat model (SmolLM2-135M-Instruct), built once and cached outside the repo."""
    from modelport.demo import build_demo_package

    return str(build_demo_package())


@pytest.fixture(scope="session")
def demo_tokenizer() -> Any:
    """The demo model's tokenizer (and chat template)."""
    from transformers import AutoTokenizer

    from modelport.demo import demo_hf_folder

    return AutoTokenizer.from_pretrained(demo_hf_folder(progress=False))


@pytest.fixture(scope="session")
def make_tiny_llama(demo_tokenizer: Any) -> Callable[..., Any]:
    """Build a 2-layer random-weight Llama over the demo tokenizer: a real transformers model,
    fast enough for any test that does not need sensible text."""

    def make(*, hidden_size: int, context: int, seed: int = 0) -> Any:
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        config = LlamaConfig(
            vocab_size=len(demo_tokenizer),
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=context,
            bos_token_id=demo_tokenizer.bos_token_id,
            eos_token_id=demo_tokenizer.eos_token_id,
            pad_token_id=demo_tokenizer.eos_token_id,
        )
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
        model.eval()
        return model

    return make


@pytest.fixture
def save_and_load(tmp_path: Path) -> Callable[..., LoadedModel]:
    """Save a model instance (as a pickle) under ``tmp_path`` and load it back.

    Loading a pickle warns (``UnsafePickleWarning``); the fixture checks that it does.
    """
    from modelport import load_model, save_model
    from modelport.flavors.python import UnsafePickleWarning

    counter = iter(range(1_000_000))

    def run(python_model: Any, **save_kwargs: Any) -> LoadedModel:
        path = tmp_path / f"saved-model-{next(counter)}"
        save_model(path, python_model=python_model, **save_kwargs)
        with pytest.warns(UnsafePickleWarning):
            return load_model(path)

    return run


WAITS_WHILE_SAVING = """
import os
import time
from pathlib import Path

from modelport import ChatModel, set_model
from modelport.types import ChatCompletionResponse


class WaitsWhileSaving(ChatModel):
    def load_context(self, context):
        ready = os.environ.get("MODELPORT_TEST_SAVE_READY")
        if ready:  # set only in the saving child process: say so, then wait to be let go
            Path(ready).write_text("saving")
            while not Path(os.environ["MODELPORT_TEST_SAVE_GO"]).exists():
                time.sleep(0.02)

    def predict(self, context, messages, params):
        return ChatCompletionResponse(
            choices=[{"index": 0, "message": {"role": "assistant", "content": "hi"}}]
        )


set_model(WaitsWhileSaving())
"""


class SaveInAnotherProcess:
    """Python code that saves a package, run in a child process and held in the middle of it.

    The code sees ``MODEL``, the path of a models-from-code chat model whose save-time
    ``load_context`` writes a ready file and waits; ``start`` returns once the child is there.
    """

    def __init__(self, code: str, model_file: Path, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.ready = workdir / "ready"
        self.go = workdir / "go"
        self._stderr: str | None = None
        env = {
            **os.environ,
            "MODELPORT_TEST_SAVE_READY": str(self.ready),
            "MODELPORT_TEST_SAVE_GO": str(self.go),
        }
        prelude = f"import modelport\nMODEL = {str(model_file)!r}\n"
        self.process = subprocess.Popen(
            [sys.executable, "-c", prelude + code],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"the child ended before its save began: {self.stderr()}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("the child's save did not begin within 60 s")
            time.sleep(0.02)

    def stderr(self) -> str:
        """Wait for the child to end; what it wrote to stderr."""
        if self._stderr is None:
            _, self._stderr = self.process.communicate(timeout=60)
        return self._stderr

    def kill(self) -> None:
        """SIGKILL: no ``finally``, no ``atexit``; only the kernel cleans up after the child."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.stderr()

    def finish(self) -> None:
        """Let the save go on; it must succeed."""
        self.go.write_text("go")
        err = self.stderr()
        assert self.process.returncode == 0, err


@pytest.fixture
def save_in_another_process(tmp_path: Path) -> Iterator[Callable[[str], SaveInAnotherProcess]]:
    """Start ``code`` (a save of ``MODEL``) in a child process, held in the middle of the save."""
    model_file = tmp_path / "waits_while_saving.py"
    model_file.write_text(WAITS_WHILE_SAVING)
    started: list[SaveInAnotherProcess] = []

    def start(code: str) -> SaveInAnotherProcess:
        child = SaveInAnotherProcess(code, model_file, tmp_path / f"child-{len(started)}")
        started.append(child)
        return child

    yield start
    for child in started:
        child.kill()
