"""Loading a gguf package: the task's model over llama.cpp, with the transformers flavor's chat
layer (the same template renderer, tool formats, grammars and OpenAI params)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import yaml

from modelport.errors import InvalidRequestError, PackageError
from modelport.flavors import LoadOptions
from modelport.flavors.gguf.config import GGUFConfig, GGUFLoadOptions
from modelport.flavors.gguf.save import gguf_tokenizer, save_model
from modelport.model import Context, PythonModel
from modelport.package.manifest import Manifest
from modelport.package.uri import resolve_model_uri

logger = logging.getLogger(__name__)


def gguf_path(path: Path, config: GGUFConfig) -> Path:
    """The package's ``.gguf`` file (inside it, or the one it references), checked."""
    file = path / config.gguf_file if config.gguf_file is not None else Path(str(config.reference))
    if not file.is_file():
        where = "inside the package" if config.gguf_file is not None else "it references"
        raise PackageError(f"the GGUF file {where} ('{file}') is missing")
    return file


def _chat_template(path: Path, config: GGUFConfig) -> str | None:
    if config.chat_template_file is None:
        return None
    return (path / config.chat_template_file).read_text(encoding="utf-8")


def _model_config(path: Path, config: GGUFConfig) -> dict[str, Any]:
    if not config.model_config_file:
        return {}
    loaded = yaml.safe_load((path / config.model_config_file).read_text(encoding="utf-8"))
    return dict(loaded or {})


def _read_package(model_uri: str | Path) -> tuple[Path, Manifest, GGUFConfig]:
    path = resolve_model_uri(model_uri)
    manifest = Manifest.read(path)
    if manifest.flavor != "gguf":
        raise PackageError(
            f"'{model_uri}' is a '{manifest.flavor}' package, not a gguf one; load it with "
            "modelport.load_model"
        )
    return path, manifest, GGUFConfig.from_dict(manifest.flavor_config)


def load_model(model_uri: str | Path) -> tuple[Any, Any]:
    """The llama.cpp model (:class:`modelport.engine.llama.LlamaModel`) and the transformers
    tokenizer of a gguf package. For the chat (or completions) model, use
    ``modelport.load_model``."""
    from modelport.engine.llama import LlamaModel

    path, _, config = _read_package(model_uri)
    file = gguf_path(path, config)
    return LlamaModel(file), gguf_tokenizer(file, _chat_template(path, config))


def build_task_model(
    path: Path, manifest: Manifest, options: GGUFLoadOptions
) -> tuple[PythonModel, Context]:
    """The ready model of the package's task, with its own engine on a llama.cpp runner."""
    from modelport.engine.llama import LlamaModel, llama_runner
    from modelport.flavors.transformers.chat import TransformersChatModel
    from modelport.flavors.transformers.completions import TransformersCompletionModel
    from modelport.flavors.transformers.config import TransformersConfig
    from modelport.flavors.transformers.lm import CausalLM
    from modelport.flavors.transformers.tools import resolve_format

    config = GGUFConfig.from_dict(manifest.flavor_config)
    engine = options.engine(config.engine_config)
    if engine.path != "auto":
        raise InvalidRequestError(
            f"engine path {engine.path!r} is a transformers engine path; a GGUF model always "
            "runs on llama.cpp",
            param="path",
        )
    model_config = _model_config(path, config)
    max_new_tokens = TransformersConfig.check_max_new_tokens(model_config)
    started = time.perf_counter()
    file = gguf_path(path, config)
    tokenizer = gguf_tokenizer(file, _chat_template(path, config))
    model = LlamaModel(file)
    try:
        runner = llama_runner(model, engine)
    except BaseException:
        model.close()
        raise
    lm = CausalLM(
        model,
        tokenizer,
        engine,
        model_name=config.model_name,
        max_new_tokens=max_new_tokens,
        dtype_reason=f"the GGUF file's own ({model.file_type})",
        runner=runner,
    )
    lm.load_seconds = time.perf_counter() - started
    logger.info("loaded %s on llama.cpp (%s) in %.1f s", file.name, model.description,
                lm.load_seconds)  # fmt: skip
    task_model: PythonModel
    if config.task == "llm/v1/chat":
        chosen = options.tool_call_format or model_config.get("tool_call_format")
        if chosen is not None and not isinstance(chosen, str):
            raise PackageError(
                f"model_config 'tool_call_format' must be a format name, got {chosen!r}"
            )
        task_model = TransformersChatModel(lm, resolve_format(tokenizer, chosen))
    else:
        task_model = TransformersCompletionModel(lm)
    return task_model, Context(model_config=model_config)


class GGUFFlavor:
    """The flavor contract (:mod:`modelport.flavors`) for GGUF files on llama.cpp."""

    name = "gguf"
    model_argument = "gguf_file"
    options = GGUFLoadOptions
    save = staticmethod(save_model)

    def load(
        self, path: Path, manifest: Manifest, options: LoadOptions
    ) -> tuple[PythonModel, Context]:
        assert isinstance(options, GGUFLoadOptions)
        return build_task_model(path, manifest, options)

    def describe(self, path: Path, manifest: Manifest) -> list[tuple[str, str]]:
        """For ``modelport info``: the file, its architecture and quantization, the engine, and
        a chat model's tool-call format (from the file's tokenizer)."""
        from modelport.flavors.transformers.tools import resolve_format

        config = GGUFConfig.from_dict(manifest.flavor_config)
        file = gguf_path(path, config)
        rows = [
            ("gguf file", str(file)),
            ("architecture", f"{config.architecture} ({config.file_type})"),
            ("engine path", "llama.cpp (multi-sequence batches)"),
        ]
        if config.task == "llm/v1/chat":
            chosen = _model_config(path, config).get("tool_call_format")
            tokenizer = gguf_tokenizer(file, _chat_template(path, config))
            rows.append(("tool-call format", resolve_format(tokenizer, chosen).describe()))
        return rows


flavor = GGUFFlavor()
