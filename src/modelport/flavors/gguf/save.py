"""``save_model`` for GGUF files: a ``.gguf`` model file becomes a modelport package.

The package holds the file under ``model/`` (copied as it is: no de-quantization), or, with
``copy=False``, only its absolute path (a reference: the file must stay where it is). The
tokenizer and the chat template are the file's own (a ``chat_template`` given here replaces the
template, stored as ``chat_template.jinja``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from modelport.errors import PackageError
from modelport.flavors.gguf.config import TASKS, GGUFConfig
from modelport.flavors.transformers.config import engine_config_to_dict
from modelport.flavors.transformers.save import CHAT_EXAMPLE, COMPLETIONS_EXAMPLE
from modelport.package.manifest import Manifest, directory_size
from modelport.package.requirements import write_requirements
from modelport.package.save import atomic_directory, write_input_example, write_model_config
from modelport.progress import Progress
from modelport.signature import chat_signature, completions_signature

MODEL_DIR = "model"
TEMPLATE_FILE = "chat_template.jinja"
TEMPLATE_KEY = "tokenizer.chat_template"


def _requirements() -> list[str]:
    import importlib.metadata

    pinned = []
    for dist in ("llama-cpp-python", "gguf", "transformers", "torch"):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
        pinned.append(f"{dist}=={version.split('+')[0]}")
    return pinned


def gguf_tokenizer(path: Path, chat_template: str | None = None) -> Any:
    """The file's tokenizer as a transformers tokenizer (the same token ids as llama.cpp's
    vocabulary), with ``chat_template`` over the file's own template when given."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    except (OSError, ValueError, KeyError, NotImplementedError) as exc:
        raise PackageError(
            f"cannot read the tokenizer of '{path}' ({type(exc).__name__}: {exc}); transformers "
            "converts the tokenizers of the GGUF architectures it knows (llama, mistral, qwen2, "
            "qwen3, gemma, phi3, ...)"
        ) from None
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


def save_model(
    path: str | Path,
    gguf_file: str | Path | None = None,
    *,
    task: str = "llm/v1/chat",
    copy: bool = True,
    chat_template: str | None = None,
    model_name: str | None = None,
    engine_config: Any = None,
    model_config: Mapping[str, Any] | None = None,
    input_example: Any = None,
    pip_requirements: str | Path | Iterable[str] | None = None,
    extra_pip_requirements: str | Path | Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Manifest:
    """Save a GGUF model file as a modelport package at ``path``, served by llama.cpp.

    ``task``: ``llm/v1/chat`` (default; the file's chat template, or ``chat_template``) or
    ``llm/v1/completions``. ``copy=False`` stores only the file's absolute path.
    ``engine_config`` (an ``EngineConfig`` or dict) sets the engine (``max_batch_size``,
    ``kv_cache_bytes``: llama.cpp's cache, ``num_threads``: its threads). ``model_config`` may set
    ``max_new_tokens`` and ``tool_call_format``.
    """
    from modelport.engine.llama import read_metadata
    from modelport.flavors.transformers.config import TransformersConfig
    from modelport.flavors.transformers.save import _check_template_renders

    if gguf_file is None:
        raise PackageError("save_model() needs gguf_file: the path of a .gguf model file")
    source = Path(gguf_file).expanduser().absolute()
    if task not in TASKS:
        raise PackageError(f"task {task!r} is not supported; accepted: {', '.join(TASKS)}")
    if chat_template is not None and not isinstance(chat_template, str):
        raise PackageError(
            f"chat_template must be a Jinja template string, got {type(chat_template).__name__}"
        )
    if metadata is not None and not isinstance(metadata, Mapping):
        raise PackageError(f"metadata must be a dict, got {type(metadata).__name__}")
    engine = engine_config_to_dict(engine_config)
    if engine.get("path", "auto") != "auto":
        raise PackageError(
            f"engine_config path {engine['path']!r} is a transformers engine path; a GGUF model "
            "always runs on llama.cpp (leave path out)",
            param="engine_config",
        )
    info = read_metadata(source)  # refuses a file that is missing or not GGUF
    if task == "llm/v1/chat" and not (chat_template or info.get(TEMPLATE_KEY)):
        raise PackageError(
            f"'{source.name}' has no chat template ({TEMPLATE_KEY}), so the model cannot be a "
            "chat model; pass chat_template='...' (a Jinja template) or save with "
            "task='llm/v1/completions'"
        )
    tokenizer = gguf_tokenizer(source, chat_template)
    if task == "llm/v1/chat":
        _check_template_renders(tokenizer, None, None)
    name = model_name or str(info.get("general.name") or source.stem)

    shown = Progress(enabled=progress)
    with atomic_directory(path, overwrite=overwrite) as directory:
        config = write_model_config(directory, model_config)
        TransformersConfig.check_max_new_tokens(config)
        flavor_config = GGUFConfig(
            task=task,
            gguf_file=f"{MODEL_DIR}/{source.name}" if copy else None,
            reference=None if copy else str(source),
            model_name=name,
            architecture=str(info.get("general.architecture", "unknown")),
            file_type=_file_type(info),
            chat_template_file=TEMPLATE_FILE if chat_template is not None else None,
            engine_config=engine,
            model_config_file="model_config.yaml" if model_config is not None else None,
        )
        if copy:
            (directory / MODEL_DIR).mkdir()
            size = source.stat().st_size
            with shown.bytes(f"Copying {source.name}", size) as advance:
                shutil.copyfile(source, directory / MODEL_DIR / source.name)
                advance(size)
        if chat_template is not None:
            (directory / TEMPLATE_FILE).write_text(chat_template, encoding="utf-8")
        if input_example is None:
            input_example = CHAT_EXAMPLE if task == "llm/v1/chat" else COMPLETIONS_EXAMPLE
        example_file = write_input_example(directory, input_example)
        requirements = write_requirements(
            directory,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            defaults=_requirements(),
        )
        signature = chat_signature() if task == "llm/v1/chat" else completions_signature()
        manifest = Manifest(
            flavor="gguf",
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


# general.file_type (llama_ftype) → the name llama.cpp gives it; the common ones
_FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
}  # fmt: skip


def _file_type(info: Mapping[str, Any]) -> str:
    value = info.get("general.file_type")
    if isinstance(value, int):
        return _FILE_TYPES.get(value, f"type {value}")
    return "unknown"
