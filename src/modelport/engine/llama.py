"""The llama.cpp runner: the engine's steps over a GGUF model, through llama.cpp's C API.

The scheduler above is the engine's own (:mod:`modelport.engine.engine`): admission, budgets,
sampling, stop strings, detokenization and streaming are the transformers runners'. What differs
is the step: each row is a *sequence* of llama.cpp's key-value cache, and a step is one
``llama_decode`` over a multi-sequence batch: every running row's next token (logits kept) and
the joining prompts' tokens (logits kept for their last token only), each under its own sequence
id. A row that leaves frees its cells (``llama_memory_seq_rm``); a request's ``n`` rows and a
reused prompt prefix are cells shared by several sequences (``llama_memory_seq_cp``), not copies.

The cache is *unified* (one pool of cells for all sequences, so a row can be as long as the
model's context while the pool bounds the total), and attention is llama.cpp's flash attention:
its CPU kernel skips the cells a row may not see, so a row's logits do not depend on which other
rows share its step (batched output equals alone; without it they drift in the last bits).

Loading the model refuses, with the file's name, what llama.cpp cannot run: a file that is not
GGUF, an architecture it does not know. On CPUs with AMX, llama.cpp's repacked ("extra buffer")
matmuls are turned off: native builds crashed there loading Q4_1 weights (SIGILL).
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from modelport.engine import EngineConfig
from modelport.engine.attention import Joiner, StepPlan
from modelport.engine.cache import KVLayout, Prefix
from modelport.engine.engine import default_kv_cache_bytes
from modelport.engine.runners import Runner
from modelport.errors import InvalidRequestError, ModelExecutionError, PackageError

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
# llama.cpp's default physical batch: the tokens one graph computes at once (a step with more
# is split by llama_decode); measured in docs/engine.md, "The llama.cpp runner".
UBATCH_TOKENS = 512
_backend_lock = threading.Lock()
_backend_ready = False


def _lib() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise PackageError(
            f"GGUF models need llama.cpp's Python binding ({exc}); "
            "install it with: pip install 'modelport[gguf]' (scripts/install builds it)"
        ) from None
    return llama_cpp


def _init_backend(lib: Any) -> None:
    global _backend_ready
    with _backend_lock:
        if _backend_ready:
            return
        _route_logs(lib)
        lib.llama_backend_init()
        _backend_ready = True


# llama.cpp's log levels (ggml_log_level): 1 debug, 2 info, 3 warn, 4 error, 5 continuation
_LEVELS = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.WARNING, 4: logging.ERROR}
_callback: Any = None  # kept alive: llama.cpp holds the pointer


def _route_logs(lib: Any) -> None:
    """llama.cpp's logs go to the ``modelport.engine.llama`` logger (its info at debug level),
    not to stderr."""
    global _callback
    native = logging.getLogger("modelport.engine.llama.cpp")

    @lib.llama_log_callback
    def callback(level: int, text: bytes, _: Any) -> None:
        message = text.decode("utf-8", "replace").rstrip()
        if not message:
            return
        # with a unified cache a sequence may use every cell: this warning does not apply
        quiet = "n_ctx_per_seq" in message
        native.log(logging.DEBUG if quiet else _LEVELS.get(level, logging.DEBUG), "%s", message)

    _callback = callback
    lib.llama_log_set(_callback, ctypes.c_void_p(0))


CPUINFO = Path("/proc/cpuinfo")


def cpu_has_amx(cpuinfo: Path | None = None) -> bool:
    """Whether this CPU has AMX tiles (where llama.cpp's repacked matmuls are turned off)."""
    try:
        with open(cpuinfo or CPUINFO, encoding="utf-8") as info:
            for line in info:
                if line.startswith("flags"):
                    return "amx_tile" in line.split()
    except OSError:
        return False
    return False


def check_gguf(path: Path) -> None:
    """Refuse a file that is missing or is not GGUF, naming it."""
    try:
        with open(path, "rb") as file:
            magic = file.read(4)
    except OSError as exc:
        raise PackageError(f"cannot read the GGUF file '{path}': {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise PackageError(
            f"'{path}' is not a GGUF file (it starts with {magic!r}, not b'GGUF'); give a "
            "model file in the GGUF format (what llama.cpp, Ollama and LM Studio use)"
        )


def read_metadata(path: Path) -> dict[str, Any]:
    """The GGUF file's key-value metadata (strings and numbers; arrays left out), read by the
    ``gguf`` package without loading weights."""
    from gguf import GGUFReader, GGUFValueType

    check_gguf(path)
    try:
        reader = GGUFReader(path)
    except (ValueError, OSError) as exc:
        raise PackageError(f"'{path}' is not a readable GGUF file: {exc}") from None
    metadata: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if not field.types or field.types[0] == GGUFValueType.ARRAY:
            continue
        value = field.contents()
        metadata[key] = value
    return metadata


class LlamaModel:
    """A GGUF model loaded by llama.cpp (weights memory-mapped), with what the engine and the
    chat layer read of a model: ``config.max_position_embeddings`` (the trained context),
    ``config.vocab_size``, the end-of-generation token ids."""

    generation_config = None

    def __init__(self, path: Path, *, repack: bool | None = None) -> None:
        lib = _lib()
        check_gguf(path)
        metadata = read_metadata(path)
        self.path = path
        self.architecture = str(metadata.get("general.architecture", "unknown"))
        self.metadata = metadata
        _init_backend(lib)
        params = lib.llama_model_default_params()
        self.repack = (not cpu_has_amx()) if repack is None else repack
        params.use_extra_bufts = self.repack
        handle = lib.llama_model_load_from_file(str(path).encode(), params)
        if not handle:
            raise PackageError(
                f"llama.cpp cannot load '{path.name}' (architecture '{self.architecture}'): this "
                "llama.cpp build does not run that architecture, or the file is damaged; see the "
                "log with --debug"
            )
        self.lib = lib
        self.handle = handle
        self.vocab = lib.llama_model_get_vocab(handle)
        self.vocab_size = int(lib.llama_vocab_n_tokens(self.vocab))
        self.context_length = int(lib.llama_model_n_ctx_train(handle))
        self.config = SimpleNamespace(
            max_position_embeddings=self.context_length, vocab_size=self.vocab_size
        )
        self.eos_token_ids = [
            token for token in range(self.vocab_size) if lib.llama_vocab_is_eog(self.vocab, token)
        ]
        buffer = ctypes.create_string_buffer(256)
        lib.llama_model_desc(handle, buffer, len(buffer))
        self.description = buffer.value.decode("utf-8", "replace")  # "llama ?B Q4_1"
        self.file_type = self.description.rsplit(" ", 1)[-1]

    def cell_bytes_estimate(self) -> int:
        """The bytes one token costs in the cache (f16 keys and values in every layer), before a
        context is made to measure it."""
        lib, handle = self.lib, self.handle
        heads = max(int(lib.llama_model_n_head(handle)), 1)
        head_dim = int(lib.llama_model_n_embd(handle)) // heads
        kv_heads = int(lib.llama_model_n_head_kv(handle)) or heads
        return max(int(lib.llama_model_n_layer(handle)) * kv_heads * head_dim * 2 * 2, 1)

    def close(self) -> None:
        if self.handle:
            self.lib.llama_model_free(self.handle)
            self.handle = None


@dataclass(eq=False)  # compared by identity
class LlamaPrefix(Prefix):
    """A reused prompt prefix: the cells of a sequence of its own (no keys or values copied)."""

    seq: int = -1

    @property
    def alive(self) -> bool:
        return self.seq >= 0


class SeqBatch:
    """The running rows of a llama.cpp context: one sequence id per row and its length."""

    cache = None

    def __init__(self, runner: LlamaRunner, seqs: list[int], lengths: list[int]) -> None:
        self.runner = runner
        self.seqs = seqs
        self.lengths = lengths

    @property
    def spans(self) -> list[int]:
        return self.lengths

    def append_column(self) -> None:
        self.lengths = [length + 1 for length in self.lengths]

    def bytes_held(self) -> int:
        return sum(self.lengths) * self.runner.cell_bytes

    def select(self, keep: list[int]) -> None:
        kept = set(keep)
        self.runner.release(s for i, s in enumerate(self.seqs) if i not in kept)
        self.seqs = [self.seqs[i] for i in keep]
        self.lengths = [self.lengths[i] for i in keep]

    def repeat_rows(self, repeats: list[int]) -> None:
        seqs: list[int] = []
        lengths: list[int] = []
        for seq, length, count in zip(self.seqs, self.lengths, repeats, strict=True):
            seqs.append(seq)
            for _ in range(count - 1):
                seqs.append(self.runner.copy(seq))
            lengths += [length] * count
        self.seqs, self.lengths = seqs, lengths

    def extend(self, other: SeqBatch) -> None:
        self.seqs += other.seqs
        self.lengths += other.lengths

    def release(self) -> None:
        self.runner.release(self.seqs)
        self.seqs, self.lengths = [], []


class LlamaRunner(Runner):
    """Steps as ``llama_decode`` calls over one context; see the module docstring.

    ``cells``: the cache's size in tokens, all sequences together (the engine's KV budget in
    bytes becomes cells). ``rows``: the most sequences at once (running rows and kept prefixes).
    """

    path = "llama.cpp"
    windows: tuple[int | None, ...] = ()
    torch_threads = 1  # torch only samples here; its threads would spin against llama.cpp's

    def __init__(
        self, model: LlamaModel, *, cells: int, rows: int, threads: int | None = None
    ) -> None:
        self.model = model
        self.lib = lib = model.lib
        self.reason = f"llama.cpp multi-sequence batches over {model.description}"
        self.device = torch.device("cpu")
        self.dtype = model.file_type
        self.vocab_size = model.vocab_size
        self.threads = threads or len(os.sched_getaffinity(0))
        self.cells = cells
        self.max_tokens = cells  # the most tokens one llama_decode may take
        params = lib.llama_context_default_params()
        params.n_ctx = cells
        params.n_batch = cells
        params.n_ubatch = min(UBATCH_TOKENS, cells)
        params.n_seq_max = rows
        params.n_threads = params.n_threads_batch = self.threads
        params.kv_unified = True
        params.flash_attn = True
        params.no_perf = True
        self.context = lib.llama_init_from_model(model.handle, params)
        if not self.context:
            raise PackageError(
                f"llama.cpp could not make a context of {cells} tokens for '{model.path.name}' "
                "(out of memory?); lower the engine's kv_cache_bytes"
            )
        self.memory = lib.llama_get_memory(self.context)
        self.cells = int(lib.llama_n_ctx(self.context))  # rounded up by llama.cpp
        self._rows = rows
        self._free = list(range(rows - 1, -1, -1))  # sequence ids not in use (pop from the end)
        self._batch = lib.llama_batch_init(self.cells, 0, 1)
        self.cell_bytes = 0  # measured by measure()
        self.prefixes: list[LlamaPrefix] = []

    # -- sequences -----------------------------------------------------------------------------

    def _new_seq(self) -> int:
        if not self._free:
            self._drop_prefixes()
        if not self._free:
            raise ModelExecutionError("llama.cpp ran out of sequence ids")
        return self._free.pop()

    def copy(self, seq: int) -> int:
        """A new sequence sharing all of ``seq``'s cells."""
        new = self._new_seq()
        self.lib.llama_memory_seq_cp(self.memory, seq, new, -1, -1)
        return new

    def release(self, seqs: Iterable[int]) -> None:
        for seq in seqs:
            self.lib.llama_memory_seq_rm(self.memory, seq, -1, -1)
            self._free.append(seq)

    def keep_prefix(self, tokens: tuple[int, ...], joiner: Joiner) -> Prefix:
        """The first ``len(tokens)`` cells of the joiner's sequence, kept under a sequence of
        their own for later prompts that start with them."""
        seq = self._new_seq()
        self.lib.llama_memory_seq_cp(self.memory, joiner.state, seq, 0, len(tokens))
        prefix = LlamaPrefix(tokens, [], [], seq=seq)
        self.prefixes.append(prefix)
        return prefix

    def forget_prefix(self, prefix: Prefix) -> None:
        assert isinstance(prefix, LlamaPrefix)
        if prefix in self.prefixes:
            self.prefixes.remove(prefix)
            self.release([prefix.seq])

    def _drop_prefixes(self) -> None:
        """Free the kept prefixes' cells; the engine's store drops them at its next lookup."""
        for prefix in self.prefixes:
            self.release([prefix.seq])
            prefix.seq = -1
        self.prefixes = []

    # -- steps ---------------------------------------------------------------------------------

    def step_mask(self, batch: Any) -> None:
        return None  # llama.cpp masks by sequence id

    def measure(self) -> KVLayout:
        """A cell's bytes: the growth of one sequence's saved state from one token to two."""
        seq = self._new_seq()
        sizes = []
        for position in range(2):
            self._decode([(0, position, seq, False)])
            sizes.append(int(self.lib.llama_state_seq_get_size(self.context, seq)))
        self.release([seq])
        self.cell_bytes = max(sizes[1] - sizes[0], 1)
        return KVLayout.full([self.cell_bytes])

    def stack(self, layout: KVLayout, joiners: list[Joiner]) -> SeqBatch:
        return SeqBatch(
            self,
            [j.state for j in joiners],
            [(len(j.prefix.tokens) if j.prefix is not None else 0) + j.length for j in joiners],
        )

    def forward(self, plan: StepPlan, tokens: list[int], positions: list[int]) -> torch.Tensor:
        items: list[tuple[int, int, int, bool]] = []
        batch: SeqBatch | None = plan.batch
        if plan.rows:
            assert batch is not None
            items += zip(
                tokens[: plan.rows],
                positions[: plan.rows],
                batch.seqs,
                [True] * plan.rows,
                strict=True,
            )
        for joiner in plan.joiners:
            prefix = joiner.prefix
            if isinstance(prefix, LlamaPrefix) and prefix.seq < 0:
                raise ModelExecutionError("a reused prefix was dropped before its prompt joined")
            seq = joiner.state = (
                self.copy(prefix.seq) if isinstance(prefix, LlamaPrefix) else self._new_seq()
            )
            last = joiner.offset + joiner.length - 1
            for i in range(joiner.offset, joiner.offset + joiner.length):
                items.append((tokens[i], positions[i], seq, i == last))
        try:
            return self._decode(items)
        except BaseException:
            self.release(j.state for j in plan.joiners if isinstance(j.state, int))
            for joiner in plan.joiners:
                joiner.state = None
            raise

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> torch.Tensor:
        """One ``llama_decode`` over ``(token, position, sequence, keep logits)`` items; the
        kept logits in order, ``[kept, vocab]``."""
        if len(items) > self.cells:
            raise ModelExecutionError(
                f"a step of {len(items)} tokens is over the cache's {self.cells} cells"
            )
        batch = self._batch
        batch.n_tokens = len(items)
        kept = 0
        for i, (token, position, seq, wanted) in enumerate(items):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = wanted
            kept += wanted
        status = self.lib.llama_decode(self.context, batch)
        if status == 1 and self.prefixes:  # no cells left: the kept prefixes make room
            self._drop_prefixes()
            status = self.lib.llama_decode(self.context, batch)
        if status != 0:
            raise ModelExecutionError(
                f"llama_decode failed (status {status}"
                + (": no room left in the key-value cache)" if status == 1 else ")")
            )
        if not kept:
            return torch.empty((0, self.vocab_size))
        pointer = self.lib.llama_get_logits(self.context)
        logits = np.ctypeslib.as_array(pointer, shape=(kept, self.vocab_size))
        return torch.from_numpy(logits.copy())

    def kv_budget(self, configured: int) -> int:
        return self.cells * self.cell_bytes  # the cells the context holds, not more

    def reset(self) -> None:
        """Forget every sequence (after a failed step): the cache is emptied."""
        self.lib.llama_memory_clear(self.memory, True)
        for prefix in self.prefixes:
            prefix.seq = -1
        self.prefixes = []
        self._free = list(range(self._rows - 1, -1, -1))

    def close(self) -> None:
        """Free the context, then the model (the engine that used them has stopped)."""
        if self.context:
            self.lib.llama_batch_free(self._batch)
            self.lib.llama_free(self.context)
            self.context = None
        self.model.close()


# llama.cpp's limit on sequences in one context (LLAMA_MAX_SEQ)
MAX_SEQUENCES = 256
PREFIX_SEQUENCES = 8  # the engine's prefix store keeps this many prefixes at most


def llama_runner(model: LlamaModel, config: EngineConfig) -> LlamaRunner:
    """The runner for ``model`` under the engine's settings: a cache of ``kv_cache_bytes`` (in
    cells; by default as many as the model's trained context, as ``llama-server`` sizes it),
    sequences for ``max_batch_size`` rows and the kept prefixes, ``num_threads`` threads."""
    rows = config.max_batch_size + PREFIX_SEQUENCES + 1
    if rows > MAX_SEQUENCES:
        raise InvalidRequestError(
            f"max_batch_size is {config.max_batch_size}, but llama.cpp holds at most "
            f"{MAX_SEQUENCES - PREFIX_SEQUENCES - 1} rows in one context",
            param="max_batch_size",
        )
    per_cell = model.cell_bytes_estimate()
    if config.kv_cache_bytes is not None:
        cells = config.kv_cache_bytes // per_cell
    else:
        cells = min(model.context_length, default_kv_cache_bytes() // per_cell)
    if cells < 16:
        raise InvalidRequestError(
            f"kv_cache_bytes {config.kv_cache_bytes} holds {cells} tokens of this model "
            f"({per_cell} bytes each); give at least {16 * per_cell}",
            param="kv_cache_bytes",
        )
    return LlamaRunner(model, cells=int(cells), rows=rows, threads=config.num_threads)
