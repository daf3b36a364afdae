"""``save_model`` for Hugging Face causal LMs: a pipeline, a ``{"model", "tokenizer"}`` dict, or a
local folder becomes a modelport package.

The package holds the Hugging Face folder under ``model/`` (safetensors weights, config,
generation config, tokenizer and chat template), or, with ``save_pretrained=False``, only the
absolute path of an existing local folder (a reference: nothing is copied).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from modelport.errors import PackageError
from modelport.flavors.transformers.config import (
    DEVICES,
    DTYPES,
    TASKS,
    TransformersConfig,
    engine_config_to_dict,
)
from modelport.flavors.transformers.progress import hf_progress_bars
from modelport.package.manifest import Manifest, directory_size
from modelport.package.requirements import write_requirements
from modelport.package.save import (
    atomic_directory,
    write_input_example,
    write_model_config,
)
from modelport.progress import Progress
from modelport.signature import (
    ColSpec,
    ParamSpec,
    Schema,
    Signature,
    chat_signature,
    completions_signature,
)

MODEL_DIR = "model"
WEIGHT_SUFFIXES = (".safetensors",)
CHAT_EXAMPLE: dict[str, Any] = {
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
    "max_tokens": 32,
    "temperature": 0.0,
}
COMPLETIONS_EXAMPLE: dict[str, Any] = {"prompt": "The capital of France is", "max_tokens": 16}
TEXT_GENERATION_EXAMPLE: Any = (
    ["The capital of France is"],
    {"max_new_tokens": 16, "temperature": 0.0},
)


def _requirements() -> list[str]:
    import importlib.metadata

    pinned = []
    for dist in ("torch", "transformers", "safetensors", "accelerate"):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        pinned.append(f"{dist}=={version.split('+')[0]}")
    return pinned


def text_generation_signature() -> Signature:
    """Strings in, strings out, with the generation params and their defaults."""
    return Signature(
        inputs=Schema([ColSpec("string")]),
        outputs=Schema([ColSpec("string")]),
        params=[
            ParamSpec("max_new_tokens", "long", None),
            ParamSpec("temperature", "double", 0.0),
            ParamSpec("top_p", "double", None),
            ParamSpec("top_k", "long", None),
            ParamSpec("seed", "long", None),
            ParamSpec("stop", "string", None, shape=(-1,)),
        ],
    )


def _is_pipeline(obj: Any) -> bool:
    return any(cls.__name__ == "Pipeline" for cls in type(obj).__mro__) and hasattr(obj, "model")


def _model_and_tokenizer(transformers_model: Any) -> tuple[Any, Any, Path | None]:
    """``(model, tokenizer, local_folder)``; model and tokenizer are None for a folder."""
    if isinstance(transformers_model, (str, Path)):
        folder = Path(transformers_model).expanduser()
        if not (folder / "config.json").is_file():
            raise PackageError(
                f"transformers_model '{transformers_model}' is not a local Hugging Face folder "
                "(it has no config.json); pass a folder written by save_pretrained(), a "
                "pipeline, or a dict {'model': ..., 'tokenizer': ...}"
            )
        return None, None, folder.absolute()
    if _is_pipeline(transformers_model):
        model, tokenizer = transformers_model.model, transformers_model.tokenizer
    elif isinstance(transformers_model, Mapping):
        unknown = set(transformers_model) - {"model", "tokenizer"}
        if "model" not in transformers_model or "tokenizer" not in transformers_model or unknown:
            raise PackageError(
                "transformers_model as a dict must have exactly the keys 'model' and "
                f"'tokenizer'; got {sorted(transformers_model)}"
            )
        model, tokenizer = transformers_model["model"], transformers_model["tokenizer"]
    else:
        raise PackageError(
            "transformers_model must be a text-generation pipeline, a dict "
            "{'model': ..., 'tokenizer': ...}, or the path of a local Hugging Face folder; got "
            f"{type(transformers_model).__name__}"
        )
    if tokenizer is None:
        raise PackageError("the pipeline has no tokenizer; modelport needs one to count tokens")
    if not callable(getattr(model, "save_pretrained", None)) or not hasattr(model, "config"):
        raise PackageError(
            f"'model' must be a transformers PreTrainedModel, got {type(model).__name__}"
        )
    if not callable(getattr(tokenizer, "save_pretrained", None)):
        raise PackageError(
            f"'tokenizer' must be a transformers tokenizer, got {type(tokenizer).__name__}"
        )
    source = getattr(model, "name_or_path", None) or getattr(model.config, "_name_or_path", "")
    local: Path | None = Path(source).expanduser() if source else None
    if local is not None and not (local / "config.json").is_file():
        local = None
    return model, tokenizer, local.absolute() if local is not None else None


def _copy_folder(source: Path, target: Path, progress: Progress) -> None:
    files = [p for p in sorted(source.rglob("*")) if p.is_file() and ".cache" not in p.parts]
    total = sum(p.stat().st_size for p in files)
    with progress.bytes(f"Copying {source.name}", total) as advance:
        for path in files:
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            advance(path.stat().st_size)


def _has_chat_template(tokenizer: Any, folder: Path | None) -> bool:
    if tokenizer is not None:
        return bool(getattr(tokenizer, "chat_template", None))
    if folder is None:
        return False
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    config_file = folder / "tokenizer_config.json"
    if not config_file.is_file():
        return False
    try:
        return bool(json.loads(config_file.read_text(encoding="utf-8")).get("chat_template"))
    except (ValueError, AttributeError):
        return False


def _check_template_renders(tokenizer: Any, folder: Path | None, chat_template: str | None) -> None:
    """Render a one-message conversation now, so a broken template fails the save, not a request."""
    if tokenizer is None:
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
        except (OSError, ValueError) as exc:
            raise PackageError(f"cannot load the tokenizer in '{folder}': {exc}") from None
    try:
        tokenizer.apply_chat_template(
            [{"role": "user", "content": "Hello!"}],
            chat_template=chat_template,
            add_generation_prompt=True,
            tokenize=False,
        )
    except Exception as exc:
        raise PackageError(
            f"the chat template cannot render a one-message conversation: {exc}"
        ) from None


def _save_tokenizer(tokenizer: Any, target: Path, chat_template: str | None) -> None:
    """Save the tokenizer, with ``chat_template`` in place of its own (the caller's tokenizer is
    left as it was)."""
    if chat_template is None:
        tokenizer.save_pretrained(target)
        return
    original = getattr(tokenizer, "chat_template", None)
    tokenizer.chat_template = chat_template
    try:
        tokenizer.save_pretrained(target)
    finally:
        tokenizer.chat_template = original


def _model_name(model: Any, folder: Path | None) -> str:
    if folder is not None:
        return folder.name
    source = getattr(model.config, "_name_or_path", "") if model is not None else ""
    return Path(source).name if source else "transformers-model"


def save_model(
    path: str | Path,
    transformers_model: Any = None,
    *,
    task: str = "llm/v1/chat",
    save_pretrained: bool = True,
    chat_template: str | None = None,
    dtype: str | None = None,
    device: str = "cpu",
    engine_config: Any = None,
    model_config: Mapping[str, Any] | None = None,
    input_example: Any = None,
    pip_requirements: str | Path | Iterable[str] | None = None,
    extra_pip_requirements: str | Path | Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Manifest:
    """Save a Hugging Face causal LM as a modelport package at ``path``.

    ``transformers_model``: a ``pipeline("text-generation", ...)``, a dict
    ``{"model": ..., "tokenizer": ...}``, or the path of a local Hugging Face folder.
    ``task``: ``llm/v1/chat`` (default), ``llm/v1/completions`` or ``text-generation``.
    ``save_pretrained=False`` stores only a reference to the model's existing local folder instead
    of copying its weights (the folder must stay where it is).
    ``dtype`` (``float32``, ``bfloat16``, ``float16``; default ``auto``: bfloat16 on a machine
    with native bf16, float32 elsewhere, decided where the package is loaded) and
    ``device`` (``cpu``, the default; ``cuda``; ``auto``: CUDA when present, else CPU) apply
    when the package is loaded.
    ``engine_config`` (an ``EngineConfig`` or dict) sets the generation engine, e.g.
    ``{"batching": False}``. ``model_config`` may set ``max_new_tokens``, the default new-token
    limit when a request gives none.
    """
    if transformers_model is None:
        raise PackageError(
            "save_model() needs transformers_model: a text-generation pipeline, a dict "
            "{'model': ..., 'tokenizer': ...}, or a local Hugging Face folder"
        )
    if task not in TASKS:
        raise PackageError(f"task {task!r} is not supported; accepted: {', '.join(TASKS)}")
    if dtype is not None and dtype not in DTYPES:
        raise PackageError(f"dtype {dtype!r} is not supported; accepted: {', '.join(DTYPES)}")
    if device not in DEVICES:
        raise PackageError(f"device {device!r} is not supported; accepted: {', '.join(DEVICES)}")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise PackageError(f"metadata must be a dict, got {type(metadata).__name__}")
    engine = engine_config_to_dict(engine_config)
    model, tokenizer, folder = _model_and_tokenizer(transformers_model)
    if not save_pretrained and folder is None:
        raise PackageError(
            "save_pretrained=False stores a reference to a local folder, but this model was "
            "not loaded from one; pass the folder's path, or save with save_pretrained=True"
        )
    if not save_pretrained and chat_template is not None:
        raise PackageError(
            "chat_template= changes the tokenizer, so it needs save_pretrained=True "
            "(a reference cannot carry a new template)"
        )
    if chat_template is not None and model is None:
        raise PackageError(
            "chat_template= needs a pipeline or a {'model', 'tokenizer'} dict, not a folder path"
        )
    if chat_template is not None and not isinstance(chat_template, str):
        raise PackageError(
            f"chat_template must be a Jinja template string, got {type(chat_template).__name__}"
        )
    if task == "llm/v1/chat" and not (chat_template or _has_chat_template(tokenizer, folder)):
        raise PackageError(
            "the tokenizer has no chat template, so the model cannot be a chat model; pass "
            "chat_template='...' (a Jinja template) or save with task='llm/v1/completions'"
        )
    if task == "llm/v1/chat":
        _check_template_renders(tokenizer, folder, chat_template)

    shown = Progress(enabled=progress)
    with atomic_directory(path, overwrite=overwrite) as directory:
        config = write_model_config(directory, model_config)
        TransformersConfig.check_max_new_tokens(config)
        flavor_config = TransformersConfig(
            task=task,
            model_dir=MODEL_DIR if save_pretrained else None,
            reference=str(folder) if not save_pretrained else None,
            model_name=_model_name(model, folder),
            dtype=dtype,
            device=device,
            engine_config=engine,
            model_config_file="model_config.yaml" if model_config is not None else None,
        )
        if save_pretrained:
            target = directory / MODEL_DIR
            if model is None:
                assert folder is not None
                _copy_folder(folder, target, shown)
            else:
                with (
                    shown.status(f"Writing the weights of {flavor_config.model_name}"),
                    hf_progress_bars(progress),
                ):
                    model.save_pretrained(target)
                    _save_tokenizer(tokenizer, target, chat_template)

        if input_example is None:
            input_example = {
                "llm/v1/chat": CHAT_EXAMPLE,
                "llm/v1/completions": COMPLETIONS_EXAMPLE,
                "text-generation": TEXT_GENERATION_EXAMPLE,
            }[task]
        example_file = write_input_example(directory, input_example)
        requirements = write_requirements(
            directory,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            defaults=_requirements(),
        )
        signature = {
            "llm/v1/chat": chat_signature,
            "llm/v1/completions": completions_signature,
            "text-generation": text_generation_signature,
        }[task]()
        manifest = Manifest(
            flavor="transformers",
            task=task,
            signature=signature,
            input_example=example_file,
            requirements=requirements.name,
            streamable=True,
            metadata=dict(metadata or {}),
            flavor_config=flavor_config.to_dict(),
        )
        manifest.size_bytes = directory_size(directory)
        manifest.write(directory)
    return manifest
