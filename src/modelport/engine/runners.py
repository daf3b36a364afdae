"""How a step's tokens go through the model: the engine's three paths, chosen at load time.

- **packed** (:class:`PackedRunner`): the running rows' next tokens and the joining prompts in
  one unpadded forward pass, with the engine's own attention (:mod:`modelport.engine.attention`):
  sliding windows (a window's layer keeps only what the window needs), soft-capping and sinks
  included. Every model whose attention goes through transformers' ``AttentionInterface`` and
  whose cache layers are full or sliding-window ones takes it.
- **padded** (:class:`PaddedRunner`): for the other models whose cache is keys and values
  (Falcon, MPT, Llama 4's chunked attention, ...): the model's own attention and cache. The
  running rows decode together, one token each, left-padded to a common width under an
  attention mask (as batched ``generate`` does); each joining prompt is prefilled by a forward
  pass of its own. Rows still join and leave at every step; every layer keeps all of its columns.
- **serial** (:class:`SerialRunner`): for models whose cache is not (only) keys and values:
  recurrent and convolution states (Mamba, Jamba, Qwen3-Next, LFM2, RWKV, ...), which padding
  would corrupt and rows cannot be cut out of by column. One request at a time: its prompt is
  prefilled as ``n`` rows at once (as ``generate`` expands it), the rows decode together through
  the model's own cache; a row that finishes stays in it unseen until its request ends.

All fill the same :class:`~modelport.engine.attention.StepPlan`: the rows' new keys and values go
into the batch cache, each joiner's into the joiner (the serial path: the model's state into a
:class:`StateBatch`), so the scheduler above them is one.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer, DynamicSlidingWindowLayer

from modelport.engine.attention import (
    Joiner,
    StepPlan,
    packed_problem,
    planned,
    use_packed_attention,
)
from modelport.engine.cache import BatchCache, KVLayout, Prefix, sliding_windows
from modelport.errors import UnsupportedFeatureError

Path = Literal["packed", "padded", "serial", "llama.cpp"]

# What a model's forward calls the cache it takes back: transformers' models "cache" (or the
# older "past_key_values"), RWKV "state", some remote code "cache_params".
_CACHE_ARGUMENTS = ("cache", "past_key_values", "cache_params", "state")


class Runner:
    """Runs a step's forward pass; see the module docstring."""

    path: Path
    windows: tuple[int | None, ...]  # per layer, the window its cache keeps (None: all)
    one_request = False  # admit a request only when none runs
    prefix_cache = True  # joiners may start from a cached prompt prefix
    torch_threads: int | None = None  # a fixed torch thread count (None: the engine tunes it)

    def __init__(self, model: Any, reason: str) -> None:
        self.model = model
        self.reason = reason  # why this path (logged at start-up, shown by /v1/models)
        first = next(model.parameters())
        self.device = first.device
        self.dtype = str(first.dtype).removeprefix("torch.")  # "float32", "bfloat16"…

    def forward(self, plan: StepPlan, tokens: list[int], positions: list[int]) -> torch.Tensor:
        """The logits of each running row, then of each joiner's last token: ``[rows +
        joiners, vocab]``. ``tokens`` and ``positions`` are laid out as the plan says."""
        raise NotImplementedError

    def measure(self) -> KVLayout:
        """Prefill one token to see the bytes of keys and values a column costs in each layer."""
        joiner = Joiner(0, 1, None)
        self.forward(StepPlan(0, None, None, [joiner]), [0], [0])
        return KVLayout.windowed(
            self.windows,
            [k.nbytes + v.nbytes for k, v in zip(joiner.keys, joiner.values, strict=True)],
        )

    def stack(self, layout: KVLayout, joiners: list[Joiner]) -> Any:
        """The batch of the rows prefilled by ``joiners`` (one row each; the serial path's one
        joiner makes its request's n)."""
        return BatchCache.stack(layout, [(j.keys, j.values) for j in joiners])

    def step_mask(self, batch: Any) -> torch.Tensor | None:
        """The running rows' attention mask for a step, ``[rows, 1, 1, columns]`` bool."""
        mask: torch.Tensor = batch.attention_mask.bool()[:, None, None, :]
        return mask

    def keep_prefix(self, tokens: tuple[int, ...], joiner: Joiner) -> Prefix:
        """The first ``len(tokens)`` keys and values of a joiner's prefill, copied out for
        later prompts that start with them."""
        share = len(tokens)
        return Prefix(
            tokens,
            [k[:, :, :share].clone() for k in joiner.keys],
            [v[:, :, :share].clone() for v in joiner.values],
        )

    def forget_prefix(self, prefix: Prefix) -> None:
        """A kept prefix left the engine's store (its tensors go with it)."""

    def kv_budget(self, configured: int) -> int:
        """The KV budget in bytes once :meth:`measure` ran (a runner with a fixed cache tells
        its own)."""
        return configured

    def reset(self) -> None:
        """Forget every row after a failed step (the batch is dropped with them)."""

    def close(self) -> None:
        """Release what the runner holds beyond Python's reach (the engine has stopped)."""

    def _tensor(self, values: list[int] | list[list[int]]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.long, device=self.device)


class PackedRunner(Runner):
    path = "packed"

    def __init__(self, model: Any, reason: str) -> None:
        super().__init__(model, reason)
        self.windows = tuple(sliding_windows(model.config))
        use_packed_attention(model)

    def forward(self, plan: StepPlan, tokens: list[int], positions: list[int]) -> torch.Tensor:
        keep = [*range(plan.rows), *(j.offset + j.length - 1 for j in plan.joiners)]
        with planned(plan):
            out = self.model(
                input_ids=self._tensor([tokens]),
                position_ids=self._tensor([positions]),
                use_cache=False,
                logits_to_keep=self._tensor(keep),
            )
        return out.logits[0]


class PaddedRunner(Runner):
    path = "padded"

    def __init__(self, model: Any, reason: str) -> None:
        super().__init__(model, reason)
        parameters = inspect.signature(model.forward).parameters
        # transformers' models name it ``cache``; remote code may still say ``past_key_values``
        self._cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self._positions = "position_ids" in parameters  # ALiBi models (MPT) take none
        self._last_only = "logits_to_keep" in parameters
        layers = model.config.get_text_config(decoder=True).num_hidden_layers
        self.windows = (None,) * int(layers)

    def forward(self, plan: StepPlan, tokens: list[int], positions: list[int]) -> torch.Tensor:
        logits: list[torch.Tensor] = []
        rows = plan.rows
        if rows:
            assert plan.cache is not None and plan.mask is not None
            logits.append(
                self._run(
                    [[t] for t in tokens[:rows]],
                    [[p] for p in positions[:rows]],
                    plan.mask[:, 0, 0, :].long(),
                    plan.cache,
                )
            )
        for joiner in plan.joiners:
            cache = DynamicCache()
            skip = 0
            if joiner.prefix is not None:
                skip = len(joiner.prefix.tokens)
                for keys, values in zip(joiner.prefix.keys, joiner.prefix.values, strict=True):
                    layer = DynamicLayer()
                    layer.lazy_initialization(keys, values)
                    layer.keys, layer.values = keys, values
                    layer.is_initialized = True
                    cache.layers.append(layer)
            span = slice(joiner.offset, joiner.offset + joiner.length)
            mask = torch.ones((1, skip + joiner.length), dtype=torch.long, device=self.device)
            logits.append(self._run([tokens[span]], [positions[span]], mask, cache))
            layers: list[Any] = list(cache.layers)
            joiner.keys = [layer.keys for layer in layers]
            joiner.values = [layer.values for layer in layers]
        return torch.cat(logits)

    def _run(
        self,
        tokens: list[list[int]],
        positions: list[list[int]],
        mask: torch.Tensor,
        cache: DynamicCache,
    ) -> torch.Tensor:
        """The model's own forward pass over its own cache; the last token's logits per row."""
        arguments: dict[str, Any] = {
            "input_ids": self._tensor(tokens),
            "attention_mask": mask,
            self._cache_argument: cache,
            "use_cache": True,
        }
        if self._positions:
            arguments["position_ids"] = self._tensor(positions)
        if self._last_only:
            arguments["logits_to_keep"] = 1
        return self.model(**arguments).logits[:, -1]


class StateBatch:
    """The serial path's batch: the rows of one request in the model's own cache, whatever it
    holds (recurrent and convolution states, keys and values), every row as long as the others,
    and the rows' tokens so far (``generate`` hands the model the whole sequence each step).

    ``live`` lists the state's rows still running, in the engine's order. Finished rows stay in
    the state, decoded along unseen, until the request ends: ``reorder_cache`` does not reach every
    model's state (MiniMax keeps its linear-attention states beside the cache's layers,
    RecurrentGemma its recurrent ones on its modules), and a state that lost rows under it would
    silently restart the others. A model without a cache (state None) drops them.
    """

    cache = None  # no batch DynamicCache: the runner hands ``state`` to the model itself

    def __init__(self, state: Any, ids: torch.Tensor) -> None:
        self.state = state
        self.ids = ids  # [rows the state holds, tokens so far]
        self.live = list(range(self.width))
        self.length = int(ids.shape[1])  # the position of each row's next token

    @property
    def width(self) -> int:
        return int(self.ids.shape[0])

    @property
    def spans(self) -> list[int]:
        return [self.length] * len(self.live)

    @property
    def lengths(self) -> list[int]:
        return self.spans

    @property
    def attention_mask(self) -> torch.Tensor:
        return torch.ones((len(self.live), self.length), dtype=torch.long)

    def append_column(self) -> None:
        self.length += 1

    def bytes_held(self) -> int:
        return state_bytes(self.state)

    def select(self, keep: list[int]) -> None:
        self.live = [self.live[i] for i in keep]
        if self.state is None and self.live and len(self.live) < self.width:
            index = torch.tensor(self.live, dtype=torch.long, device=self.ids.device)
            self.ids = self.ids.index_select(0, index)
            self.live = list(range(self.width))

    def repeat_rows(self, repeats: list[int]) -> None:
        if list(repeats) != [self.width]:  # the prefill made the request's n rows already
            raise RuntimeError(f"a serial batch holds {self.width} rows, not {repeats}")


def state_bytes(state: Any) -> int:
    """Bytes of the tensors in a model's cache, however it nests them (each tensor once; its
    bookkeeping scalars, such as a linear-attention layer's token count, are no row's memory)."""
    seen: set[int] = set()

    def walk(value: Any, depth: int) -> int:
        if id(value) in seen:
            return 0
        seen.add(id(value))
        if isinstance(value, torch.Tensor):
            return int(value.nbytes) if value.dim() else 0
        if depth > 6:
            return 0
        if isinstance(value, dict):
            return sum(walk(v, depth + 1) for v in value.values())
        if isinstance(value, (list, tuple)):
            return sum(walk(v, depth + 1) for v in value)
        if hasattr(value, "__dict__") and not isinstance(value, (type, torch.nn.Module)):
            return sum(walk(v, depth + 1) for v in vars(value).values())
        return 0

    return walk(state, 0)


class SerialRunner(Runner):
    """Steps as the model's own ``generate`` does: its ``prepare_inputs_for_generation`` builds
    each forward's inputs from the tokens so far and its cache (made as ``generate`` makes it)."""

    path = "serial"
    one_request = True
    prefix_cache = False  # a recurrent state cannot be cut at a prefix's last token

    def __init__(self, model: Any, reason: str) -> None:
        super().__init__(model, reason)
        parameters = inspect.signature(model.forward).parameters
        if not hasattr(model, "prepare_inputs_for_generation"):
            raise UnsupportedFeatureError(f"{type(model).__name__} cannot generate")
        names = [name for name in _CACHE_ARGUMENTS if name in parameters]
        # None: the model takes no cache (GPT-1); each step runs the whole sequence, as generate
        self._cache_argument = names[0] if names else None
        self._last_only = "logits_to_keep" in parameters
        self._positions = "position_ids" in parameters
        default_cache = getattr(model, "_supports_default_dynamic_cache", None)
        self._default_cache = bool(default_cache()) if callable(default_cache) else False
        self.windows = ()

    def measure(self) -> KVLayout:
        """A row's bytes: what its state holds after one token, and what each further token
        adds (keys and values of attention layers; recurrent states do not grow)."""
        one = state_bytes(self._run(self._tensor([[0]]), None)[1])
        two = state_bytes(self._run(self._tensor([[0, 0]]), None)[1])
        column = max(two - one, 0)
        return KVLayout((None,), (column,), fixed=one - column)

    def stack(self, layout: KVLayout, joiners: list[Joiner]) -> StateBatch:
        (joiner,) = joiners
        state, ids = joiner.state
        return StateBatch(state, ids)

    def forward(self, plan: StepPlan, tokens: list[int], positions: list[int]) -> torch.Tensor:
        if plan.rows:
            assert not plan.joiners, "the serial path runs one request at a time"
            batch: StateBatch = plan.batch
            new = batch.ids[:, -1:].clone()  # rows that finished but stay in the state: unseen
            live = self._tensor(batch.live)
            new[live, 0] = self._tensor(tokens[: plan.rows])
            batch.ids = torch.cat([batch.ids, new], dim=1)
            logits, batch.state = self._run(batch.ids, batch.state)
            return logits[live]
        (joiner,) = plan.joiners
        prompt = tokens[joiner.offset : joiner.offset + joiner.length]
        ids = self._tensor([prompt] * joiner.copies)
        logits, state = self._run(ids, None)
        joiner.state = (state, ids)
        return logits[:1]  # the n rows' logits are one prompt's

    def _run(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One forward pass over the tokens ``state`` has not seen (all of them when it is None:
        a prompt's prefill); the last token's logits per row, and the state after it."""
        first = state is None
        if self._cache_argument is None:
            return self._rerun(ids)
        if first and self._default_cache:
            state = DynamicCache(config=self.model.config)
        kwargs: dict[str, Any] = {**self._positions_of(ids), "use_cache": True}
        if state is not None:
            kwargs[self._cache_argument] = state
        if self._last_only:
            kwargs["logits_to_keep"] = 1
        inputs = self.model.prepare_inputs_for_generation(
            ids, next_sequence_length=None if first else 1, is_first_iteration=first, **kwargs
        )
        out = self.model(**inputs, return_dict=True)
        for name in dict.fromkeys((self._cache_argument, *_CACHE_ARGUMENTS)):
            after = getattr(out, name, None)
            if after is not None:
                return out.logits[:, -1], after
        if state is None:
            raise UnsupportedFeatureError(f"{type(self.model).__name__} returned no cache")
        return out.logits[:, -1], state  # the model filled the cache it was given

    def _rerun(self, ids: torch.Tensor) -> tuple[torch.Tensor, None]:
        """A model without a cache: the whole sequence again, its last token's logits."""
        inputs = self.model.prepare_inputs_for_generation(
            ids, is_first_iteration=True, **self._positions_of(ids)
        )
        return self.model(**inputs, return_dict=True).logits[:, -1], None

    def _positions_of(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """As generate: no mask (no row is padded) and, where the model takes them, the
        positions of all tokens so far (``prepare_inputs_for_generation`` keeps the new ones)."""
        if not self._positions:
            return {}
        rows, length = ids.shape
        return {"position_ids": torch.arange(length, device=self.device).expand(rows, -1)}


def padded_problem(model: Any) -> str | None:
    """Why the padded path cannot serve ``model`` (None: it can): its cache holds more than
    keys and values, which a padded row would corrupt, or its forward takes no mask or cache."""
    name = type(model).__name__
    parameters = inspect.signature(model.forward).parameters
    if not any(argument in parameters for argument in _CACHE_ARGUMENTS):
        return f"{name}.forward takes no cache, so each step runs the whole sequence again"
    if not any(argument in parameters for argument in ("cache", "past_key_values")):
        return f"{name} keeps a state of its own, not a key-value cache"
    if "attention_mask" not in parameters:
        return f"{name}.forward takes no attention_mask, so its rows cannot be padded"
    try:
        layers = DynamicCache(config=model.config).layers
    except Exception as exc:  # a config transformers' cache cannot read: let the model decide
        return f"transformers builds no key-value cache for its config ({exc})"
    kinds = sorted(
        {
            type(layer).__name__
            for layer in layers
            if type(layer) not in (DynamicLayer, DynamicSlidingWindowLayer)
        }
    )
    if kinds:
        what = (
            "states that padding would corrupt"
            if any(kind.startswith("LinearAttention") for kind in kinds)
            else "which padded steps do not keep"
        )
        return f"its cache has {', '.join(kinds)} layers, {what}"
    return None


PathSetting = Literal["auto", "packed", "padded", "serial"]


def choose_path(model: Any, setting: PathSetting = "auto") -> tuple[Path, str]:
    """The path that serves ``model`` and why: packed when it can, else padded, else serial
    (``setting`` forces one; forcing one on a model it cannot serve is
    ``UnsupportedFeatureError``). Reads only the model's class and config: a model on the meta
    device will do."""
    if setting == "serial":
        return "serial", "chosen by the engine's path setting"
    packed = packed_problem(model)
    if setting == "packed" and packed is not None:
        raise UnsupportedFeatureError(f"the packed engine path cannot serve this model: {packed}")
    if setting in ("auto", "packed") and packed is None:
        return "packed", "attention through transformers' AttentionInterface"
    padded = padded_problem(model)
    if setting == "padded":
        if padded is not None:
            raise UnsupportedFeatureError(
                f"the padded engine path cannot serve this model: {padded}"
            )
        return "padded", "chosen by the engine's path setting"
    if padded is None:
        return "padded", str(packed)
    return "serial", padded


_RUNNERS: dict[Path, type[Runner]] = {
    "packed": PackedRunner,
    "padded": PaddedRunner,
    "serial": SerialRunner,
}


def choose_runner(model: Any, setting: PathSetting = "auto") -> Runner:
    """The runner of the path :func:`choose_path` picks for ``model``."""
    path, reason = choose_path(model, setting)
    return _RUNNERS[path](model, reason)
