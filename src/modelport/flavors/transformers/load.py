"""Loading a transformers package: the raw model and tokenizer, or a ready chat/completions model.

``load_model(path)`` gives ``(model, tokenizer)``; the flavor's ``load`` (what the generic
``modelport.load_model(uri, **options)`` calls) gives the task's model driven by one generation
engine, with the load options (``device``, ``dtype``, ``batching``, ``engine_config``) applied.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import yaml

from modelport.engine.threads import on_passing_thread
from modelport.errors import PackageError
from modelport.flavors import LoadOptions
from modelport.flavors.transformers.config import (
    DEVICES,
    TransformersConfig,
    TransformersLoadOptions,
)
from modelport.flavors.transformers.dtypes import DtypeChoice, choose_dtype
from modelport.flavors.transformers.save import save_model
from modelport.model import Context, PythonModel
from modelport.package.manifest import Manifest
from modelport.package.uri import resolve_model_uri

logger = logging.getLogger(__name__)


def model_folder(path: Path, config: TransformersConfig) -> Path:
    """The package's Hugging Face folder (inside it, or the one it references), checked."""
    folder = (
        path / config.model_dir if config.model_dir is not None else Path(str(config.reference))
    )
    if not (folder / "config.json").is_file():
        where = "inside the package" if config.model_dir is not None else "it references"
        raise PackageError(
            f"the Hugging Face folder {where} ('{folder}') is missing or has no config.json"
            + (
                "; the package stores only a reference: restore that folder or re-save the model "
                "with save_pretrained=True"
                if config.reference is not None
                else ""
            )
        )
    return folder


def resolve_device(device: str | None) -> str:
    """``auto`` → ``cuda`` when a GPU is present, else ``cpu``."""
    import torch

    device = device or "cpu"
    if device not in DEVICES:
        raise PackageError(f"device {device!r} is not supported; accepted: {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise PackageError("device 'cuda' was asked for but no CUDA GPU is available")
    return device


def _read_package(model_uri: str | Path) -> tuple[Path, Manifest, TransformersConfig]:
    path = resolve_model_uri(model_uri)
    manifest = Manifest.read(path)
    if manifest.flavor != "transformers":
        raise PackageError(
            f"'{model_uri}' is a '{manifest.flavor}' package, not a transformers one; load it "
            "with modelport.load_model"
        )
    return path, manifest, TransformersConfig.from_dict(manifest.flavor_config)


def load_hf(
    folder: Path, *, dtype: str | None = None, device: str | None = "cpu"
) -> tuple[Any, Any, DtypeChoice]:
    """``(model, tokenizer, dtype)`` from a Hugging Face folder, in eval mode on ``device``, in
    ``dtype`` (None or ``auto``: the machine's fastest, :mod:`.dtypes`)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = resolve_device(device)  # a bad device or dtype fails before the weights are read
    choice = choose_dtype(dtype, target)

    def load() -> Any:
        model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=choice.torch_dtype)
        model.to(target)
        model.eval()
        return model

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        # on a thread of its own, so that the OpenMP threads loading starts end with it
        model: Any = on_passing_thread(load)
    except (OSError, ValueError) as exc:
        raise PackageError(f"cannot load the model in '{folder}': {exc}") from None
    logger.info("loaded %s in %s (%s)", folder.name, choice.name, choice.reason)
    return model, tokenizer, choice


def load_model(
    model_uri: str | Path, *, dtype: str | None = None, device: str | None = None
) -> tuple[Any, Any]:
    """The model and tokenizer of a transformers package (dtype/device override the saved ones).

    For the chat (or completions) model, use ``modelport.load_model``.
    """
    path, _, config = _read_package(model_uri)
    model, tokenizer, _ = load_hf(
        model_folder(path, config), dtype=dtype or config.dtype, device=device or config.device
    )
    return model, tokenizer


def _model_config(path: Path, config: TransformersConfig) -> dict[str, Any]:
    if not config.model_config_file:
        return {}
    loaded = yaml.safe_load((path / config.model_config_file).read_text(encoding="utf-8"))
    return dict(loaded or {})


def build_task_model(
    path: Path, manifest: Manifest, options: TransformersLoadOptions
) -> tuple[PythonModel, Context]:
    """The ready model of the package's task, with its own generation engine."""
    from modelport.flavors.transformers.chat import TransformersChatModel
    from modelport.flavors.transformers.completions import (
        TextGenerationModel,
        TransformersCompletionModel,
    )
    from modelport.flavors.transformers.lm import CausalLM
    from modelport.flavors.transformers.tools import resolve_format

    config = TransformersConfig.from_dict(manifest.flavor_config)
    model_config = _model_config(path, config)
    max_new_tokens = TransformersConfig.check_max_new_tokens(model_config)
    started = time.perf_counter()
    model, tokenizer, dtype = load_hf(
        model_folder(path, config),
        dtype=options.dtype or config.dtype,
        device=options.device or config.device,
    )
    lm = CausalLM(
        model,
        tokenizer,
        options.engine(config.engine_config),
        model_name=config.model_name,
        max_new_tokens=max_new_tokens,
        dtype_reason=dtype.reason,
    )
    lm.load_seconds = time.perf_counter() - started
    task_model: PythonModel
    if config.task == "llm/v1/chat":
        chosen = options.tool_call_format or model_config.get("tool_call_format")
        if chosen is not None and not isinstance(chosen, str):
            raise PackageError(
                f"model_config 'tool_call_format' must be a format name, got {chosen!r}"
            )
        task_model = TransformersChatModel(lm, resolve_format(tokenizer, chosen))
    elif config.task == "llm/v1/completions":
        task_model = TransformersCompletionModel(lm)
    else:
        task_model = TextGenerationModel(lm)
    return task_model, Context(model_config=model_config)


def _engine_path(folder: Path, config: TransformersConfig) -> str:
    """The engine path that will serve the model, and why: decided on an empty (meta-device)
    instance of the model's class, as the engine decides it when the package is loaded."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from modelport.engine.runners import choose_path

    try:
        with torch.device("meta"):
            empty = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder))
        path, reason = choose_path(empty, config.engine_config.path)
    except Exception as exc:  # what loading it would say; info shows the rest anyway
        return f"unknown: {exc}"
    return f"{path} ({reason})"


def _dtype_here(config: TransformersConfig) -> str:
    """The dtype the package loads in on this machine, and why (the saved one, or auto's)."""
    try:
        choice = choose_dtype(config.dtype, resolve_device(config.device))
    except PackageError as exc:
        return f"unknown: {exc.message}"
    return f"{choice.name} ({choice.reason})"


class TransformersFlavor:
    """The flavor contract (:mod:`modelport.flavors`) for Hugging Face causal LMs."""

    name = "transformers"
    model_argument = "transformers_model"
    options = TransformersLoadOptions
    save = staticmethod(save_model)

    def load(
        self, path: Path, manifest: Manifest, options: LoadOptions
    ) -> tuple[PythonModel, Context]:
        assert isinstance(options, TransformersLoadOptions)
        return build_task_model(path, manifest, options)

    def describe(self, path: Path, manifest: Manifest) -> list[tuple[str, str]]:
        """For ``modelport info``: the engine path (read from the model's class and config,
        without loading weights) and a chat model's tool-call format (from its tokenizer)."""
        from transformers import AutoTokenizer

        from modelport.flavors.transformers.tools import resolve_format

        config = TransformersConfig.from_dict(manifest.flavor_config)
        rows = [("transformers model", config.model_name or "-")]
        rows.append(("engine path", _engine_path(model_folder(path, config), config)))
        rows.append(("dtype", _dtype_here(config)))
        if config.task != "llm/v1/chat":
            return rows
        chosen = _model_config(path, config).get("tool_call_format")
        tokenizer = AutoTokenizer.from_pretrained(model_folder(path, config))
        rows.append(("tool-call format", resolve_format(tokenizer, chosen).describe()))
        return rows


flavor = TransformersFlavor()
