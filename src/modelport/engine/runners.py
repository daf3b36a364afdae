"""How a step's tokens go through the model: the engine's two paths, chosen at load time.

- **packed** (:class:`PackedRunner`): the running rows' next tokens and the joining prompts in
  one unpadded forward pass, with the engine's own attention (:mod:`modelport.engine.attention`):
  sliding windows (a window's layer keeps only what the window needs), soft-capping and sinks
  included. Every model whose attention goes through transformers' ``AttentionInterface`` and
  whose cache layers are full or sliding-window ones takes it.
- **padded** (:class:`PaddedRunner`): for the others (Falcon, MPT, ...): the model's own
  attention and cache. The running rows decode together, one token each, left-padded to a common
  width under an attention mask (as batched ``generate`` does); each joining prompt is prefilled
  by a forward pass of its own. Rows still join and leave at every step; every layer keeps all
  of its columns.

Both fill the same :class:`~modelport.engine.attention.StepPlan`: the rows' new keys and values
go into the batch cache, each joiner's into the joiner, so the scheduler above them is one.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from modelport.engine.attention import StepPlan, packed_problem, planned, use_packed_attention
from modelport.engine.cache import sliding_windows
from modelport.errors import UnsupportedFeatureError

Path = Literal["packed", "padded"]


class Runner:
    """Runs a step's forward pass; see the module docstring."""

    path: Path
    windows: tuple[int | None, ...]  # per layer, the window its cache keeps (None: all)

    def __init__(self, model: Any, reason: str) -> None:
        self.model = model
        self.reason = reason  # why this path (logged at start-up, shown by /v1/models)
        self.device = next(model.parameters()).device

    def forward(self, plan: StepPlan, tokens: list[int], positions: list[int]) -> torch.Tensor:
        """The logits of each running row, then of each joiner's last token: ``[rows +
        joiners, vocab]``. ``tokens`` and ``positions`` are laid out as the plan says."""
        raise NotImplementedError

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
        # MPT names its cache argument ``cache``; the others ``past_key_values``
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


PathSetting = Literal["auto", "packed", "padded"]


def choose_path(model: Any, setting: PathSetting = "auto") -> tuple[Path, str]:
    """The path that serves ``model`` and why: packed when it can, else padded (``setting``
    forces one; forcing packed on a model it cannot serve is ``UnsupportedFeatureError``).
    Reads only the model's class and config: a model on the meta device will do."""
    problem = packed_problem(model)
    if setting == "packed" and problem is not None:
        raise UnsupportedFeatureError(f"the packed engine path cannot serve this model: {problem}")
    if setting == "padded":
        return "padded", "chosen by the engine's path setting"
    if problem is None:
        return "packed", "attention through transformers' AttentionInterface"
    return "padded", problem


def choose_runner(model: Any, setting: PathSetting = "auto") -> Runner:
    """The runner of the path :func:`choose_path` picks for ``model``."""
    path, reason = choose_path(model, setting)
    return PackedRunner(model, reason) if path == "packed" else PaddedRunner(model, reason)
