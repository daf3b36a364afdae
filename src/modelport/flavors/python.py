"""The ``python`` flavor: a PythonModel or ChatModel saved as code (or a cloudpickle)."""

from __future__ import annotations

import inspect
import logging
import shutil
import sys
import typing
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from modelport.errors import ModelExecutionError, ModelportError, PackageError
from modelport.flavors import LoadOptions
from modelport.model import (
    ChatModel,
    CompletionModel,
    Context,
    PythonModel,
    implements_stream,
    load_model_from_code,
    takes_context,
)
from modelport.package.load import LoadedModel
from modelport.package.manifest import Manifest, directory_size
from modelport.package.requirements import write_requirements
from modelport.package.save import (
    MODEL_CONFIG_FILE,
    atomic_directory,
    copy_artifacts,
    copy_into,
    split_input_example,
    write_input_example,
    write_model_config,
)
from modelport.signature import (
    Signature,
    chat_signature,
    completions_signature,
    enforce_input,
    enforce_params,
    infer_schema,
    infer_signature,
    schema_from_type_hint,
)

log = logging.getLogger(__name__)

CODE_DIR = "code"
MODEL_CODE_DIR = "model_code"
PICKLE_FILE = "python_model.pkl"
DEFAULT_CHAT_EXAMPLE: dict[str, Any] = {
    "messages": [{"role": "user", "content": "Hello!"}],
    "max_tokens": 16,
}
DEFAULT_COMPLETIONS_EXAMPLE: dict[str, Any] = {"prompt": "Hello!", "max_tokens": 16}


class UnsafePickleWarning(UserWarning):
    """Loading a pickled model runs arbitrary code: load only packages you trust."""


def _task_of(model: Any) -> str | None:
    if isinstance(model, ChatModel):
        return "llm/v1/chat"
    if isinstance(model, CompletionModel):
        return "llm/v1/completions"
    return None


def _check_python_model(python_model: Any) -> None:
    if isinstance(python_model, (str, Path)):
        return
    if not isinstance(python_model, PythonModel):
        raise PackageError(
            "python_model must be a PythonModel or ChatModel instance, or a path to a .py file "
            f"that calls set_model(); got {type(python_model).__name__}"
        )


def _signature_from_type_hints(model: PythonModel) -> Signature | None:
    """``predict(self, context, model_input: list[str]) -> list[str]`` gives a signature.

    The input stays exactly as sent (an ``array`` schema is checked, not split into columns).
    """
    method = model.predict
    try:
        hints = typing.get_type_hints(method)
    except Exception:  # unresolvable forward references: no signature rather than a failed save
        return None
    names = [
        p.name
        for p in inspect.signature(method).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if takes_context(method):
        names = names[1:]
    if not names or names[0] not in hints:
        return None
    inputs = schema_from_type_hint(hints[names[0]])
    if not inputs:
        return None
    outputs = schema_from_type_hint(hints["return"]) if "return" in hints else {}
    return Signature(inputs=inputs, outputs=outputs or None)


def _run_model(
    model: Any, context: Context, task: str | None, example: Any, signature: Signature | None = None
) -> Any:
    """Run ``predict`` on the example at save time; return the output (for output inference)."""
    model_input, params = split_input_example(example)
    probe = LoadedModel.for_saving(model, context, task, signature)
    return probe.predict_for_save(model_input, params)


def save_model(
    path: str | Path,
    python_model: PythonModel | str | Path | None = None,
    *,
    artifacts: Mapping[str, str | Path] | None = None,
    model_config: Mapping[str, Any] | str | Path | None = None,
    input_example: Any = None,
    signature: Signature | None = None,
    pip_requirements: str | Path | Iterable[str] | None = None,
    extra_pip_requirements: str | Path | Iterable[str] | None = None,
    code_paths: Iterable[str | Path] | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Manifest:
    """Save a PythonModel or ChatModel as a package directory at ``path``.

    ``python_model`` is an instance (saved with cloudpickle) or the path of a models-from-code
    ``.py`` file that ends with ``set_model(...)`` (saved as code: the recommended way).
    A ChatModel gets task ``llm/v1/chat`` and the chat signature; at save time its
    ``load_context`` and ``predict`` run on the input example and the result must be a
    ``ChatCompletionResponse``.
    """
    if python_model is None:
        raise PackageError(
            "save_model() needs python_model: a PythonModel/ChatModel instance "
            "or a path to a .py file that calls set_model()"
        )
    _check_python_model(python_model)
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise PackageError(f"metadata must be a dict, got {type(metadata).__name__}")
        try:
            yaml.safe_dump(dict(metadata))
        except yaml.YAMLError:
            raise PackageError(
                "metadata must hold plain values (strings, numbers, booleans, lists, dicts)"
            ) from None
    if signature is not None and not isinstance(signature, Signature):
        raise PackageError(f"signature must be a Signature, got {type(signature).__name__}")
    if isinstance(code_paths, (str, Path)) or not isinstance(code_paths, (Iterable, type(None))):
        raise PackageError(f"code_paths must be a list of paths, got {type(code_paths).__name__}")
    code_paths = list(code_paths or [])
    for code_path in code_paths:
        if not isinstance(code_path, (str, Path)) or not Path(code_path).exists():
            raise PackageError(f"code path '{code_path}' does not exist")

    with atomic_directory(path, overwrite=overwrite) as directory:
        flavor_config: dict[str, Any] = {}
        code_sources: list[str] = []
        if code_paths:
            for code_path in code_paths:
                source = Path(code_path)
                copy_into(source, directory / CODE_DIR / source.name)
                code_sources += [
                    p.read_text(encoding="utf-8", errors="replace")
                    for p in ([source] if source.is_file() else source.rglob("*.py"))
                ]
            flavor_config["code_paths"] = CODE_DIR
        stored_artifacts = copy_artifacts(directory, artifacts)
        flavor_config["artifacts"] = stored_artifacts
        config = write_model_config(directory, model_config)
        flavor_config["model_config"] = MODEL_CONFIG_FILE if model_config is not None else None

        if code_paths:
            sys.path.insert(0, str(directory / CODE_DIR))
        try:
            if isinstance(python_model, (str, Path)):
                code_file = Path(python_model)
                model = load_model_from_code(code_file)
                _check_python_model(model)
                (directory / MODEL_CODE_DIR).mkdir()
                shutil.copy2(code_file, directory / MODEL_CODE_DIR / code_file.name)
                flavor_config["code"] = f"{MODEL_CODE_DIR}/{code_file.name}"
                code_sources.append(code_file.read_text(encoding="utf-8"))
            else:
                import cloudpickle

                model = python_model
                try:
                    (directory / PICKLE_FILE).write_bytes(cloudpickle.dumps(model))
                except Exception as exc:
                    raise PackageError(
                        f"{type(model).__name__} cannot be pickled ({exc}); save it as code "
                        "instead: python_model='model.py' with set_model(...) at its end"
                    ) from exc
                flavor_config["pickle"] = PICKLE_FILE

            task = _task_of(model)
            if task is not None and signature is not None:
                raise PackageError(
                    f"A {'ChatModel' if task == 'llm/v1/chat' else 'CompletionModel'} gets the "
                    f"{task} signature automatically; do not pass signature="
                )
            if task == "llm/v1/chat" and input_example is None:
                input_example = DEFAULT_CHAT_EXAMPLE
            elif task == "llm/v1/completions" and input_example is None:
                input_example = DEFAULT_COMPLETIONS_EXAMPLE
            context = Context(
                artifacts={k: str(directory / v) for k, v in stored_artifacts.items()},
                model_config=config,
            )
            if task is not None:
                _run_model(model, context, task, input_example)
                signature = chat_signature() if task == "llm/v1/chat" else completions_signature()
            elif signature is None and input_example is not None:
                model_input, params = split_input_example(input_example)
                signature = infer_signature(model_input, params=params)
                try:
                    output = _run_model(model, context, None, (model_input, params), signature)
                except ModelExecutionError as exc:
                    log.warning(
                        "predict() on the input example failed (%r): the signature has no outputs",
                        exc.__cause__,
                    )
                else:
                    if output is not None:
                        signature.outputs = infer_schema(output)
            elif signature is None:
                signature = _signature_from_type_hints(model)
        finally:
            if code_paths:
                sys.path.remove(str(directory / CODE_DIR))

        example_file = write_input_example(directory, input_example)
        requirements = write_requirements(
            directory,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            model=model if not isinstance(python_model, (str, Path)) else None,
            code_sources=code_sources,
            defaults=["cloudpickle"] if "pickle" in flavor_config else [],
        )
        manifest = Manifest(
            flavor="python",
            task=task,
            signature=signature,
            input_example=example_file,
            requirements=requirements.name,
            streamable=implements_stream(model),
            metadata=dict(metadata or {}),
            flavor_config=flavor_config,
        )
        manifest.size_bytes = directory_size(directory)
        manifest.write(directory)
    return manifest


class PythonFlavor:
    """The flavor contract (:mod:`modelport.flavors`) for PythonModel packages."""

    name = "python"
    model_argument = "python_model"
    options = LoadOptions  # a Python model takes no load options
    save = staticmethod(save_model)

    def load(
        self, path: Path, manifest: Manifest, options: LoadOptions
    ) -> tuple[PythonModel, Context]:
        cfg = manifest.flavor_config
        if cfg.get("code_paths"):
            code_dir = str(path / cfg["code_paths"])
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
        model_config: dict[str, Any] = {}
        if cfg.get("model_config"):
            config_file = path / cfg["model_config"]
            try:
                loaded = yaml.safe_load(config_file.read_text(encoding="utf-8"))
                model_config = dict(loaded or {})
            except (OSError, yaml.YAMLError, TypeError, ValueError) as exc:
                raise PackageError(
                    f"the package's model_config '{config_file}' cannot be read: {exc}"
                ) from None
        context = Context(
            artifacts={name: str(path / rel) for name, rel in (cfg.get("artifacts") or {}).items()},
            model_config=model_config,
        )
        if cfg.get("code"):
            model = load_model_from_code(path / cfg["code"])
        elif cfg.get("pickle"):
            import cloudpickle

            warnings.warn(
                f"Loading '{path}' unpickles {cfg['pickle']}, which runs code: load only "
                "packages you trust (save models as code to avoid pickles)",
                UnsafePickleWarning,
                stacklevel=3,
            )
            try:
                model = cloudpickle.loads((path / cfg["pickle"]).read_bytes())
            except Exception as exc:
                raise PackageError(f"cannot unpickle the model in '{path}': {exc!r}") from exc
        else:
            raise PackageError(f"'{path}' holds no model code or pickle (flavor_config: {cfg})")
        try:
            model.load_context(context)
        except ModelportError:
            raise
        except Exception as exc:
            raise PackageError(f"load_context() of {type(model).__name__} failed: {exc!r}") from exc
        return model, context


flavor = PythonFlavor()

__all__ = ["UnsafePickleWarning", "enforce_input", "enforce_params", "flavor", "save_model"]
