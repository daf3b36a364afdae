"""Atomic package writing, shared by every flavor.

A package is built in a temporary directory beside the target and renamed into place, so a
failed save leaves nothing behind and readers never see a half-written package. What a killed
save leaves (it runs no ``finally``) is removed by the next save or load of the same target:
see :mod:`modelport.package.staging`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from modelport.errors import AlreadyExistsError, NotFoundError, PackageError
from modelport.package.staging import Staging, remove_stale_saves_of

INPUT_EXAMPLE_FILE = "input_example.json"
MODEL_CONFIG_FILE = "model_config.yaml"


@contextmanager
def atomic_directory(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory that becomes ``path`` when the block succeeds.

    First removes what killed saves of ``path`` left. File-system errors (no permission, disk
    full…) become a :class:`PackageError`.
    """
    if not isinstance(path, (str, Path)) or not str(path).strip():
        raise PackageError(f"path must be a non-empty string or Path, got {path!r}")
    target = Path(path).expanduser().absolute()
    remove_stale_saves_of(target)  # may put back the package a killed overwrite moved aside
    if target.exists():
        if not target.is_dir():
            raise AlreadyExistsError(f"'{target}' exists and is not a directory")
        if not overwrite:
            raise AlreadyExistsError(
                f"'{target}' already exists; pass overwrite=True to replace it"
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Staging.create(target)
    except OSError as exc:
        raise _write_failed(target, exc) from exc
    try:
        yield staging.package
        _move_into_place(staging, target)
    except OSError as exc:
        raise _write_failed(target, exc) from exc
    finally:
        staging.remove()  # what is left of it: the old package after an overwrite, the lock


def _write_failed(target: Path, exc: OSError) -> PackageError:
    return PackageError(f"cannot write the package '{target}': {exc.strerror or exc}")


def _move_into_place(staging: Staging, target: Path) -> None:
    if not target.exists():
        staging.package.rename(target)
        return
    # moved into the locked folder: if this process is killed now, the next save or load of
    # the target puts it back
    target.rename(staging.old)
    try:
        staging.package.rename(target)
    except BaseException:
        staging.old.rename(target)  # put the old package back: a failed overwrite changes nothing
        raise


def _local_source(value: str | Path, what: str) -> Path:
    from modelport.package.uri import resolve_model_uri

    if not isinstance(value, (str, Path)):
        raise PackageError(f"{what} must be a path or URI, got {type(value).__name__}")
    try:
        return resolve_model_uri(value)
    except NotFoundError:
        raise PackageError(f"{what}: '{value}' does not exist") from None
    except PackageError:
        raise
    except Exception as exc:
        raise PackageError(f"{what} '{value}' cannot be read: {exc}") from None


def copy_into(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, symlinks=False)
    else:
        shutil.copy2(source, destination)


def copy_artifacts(directory: Path, artifacts: Mapping[str, str | Path] | None) -> dict[str, str]:
    """Copy each artifact into ``artifacts/<name>/``; return name → path relative to the package."""
    if artifacts is None:
        return {}
    if not isinstance(artifacts, Mapping):
        raise PackageError(
            f"artifacts must be a dict of name → path, got {type(artifacts).__name__}"
        )
    stored: dict[str, str] = {}
    for name, value in artifacts.items():
        if (
            not isinstance(name, str)
            or not name
            or "/" in name
            or "\\" in name
            or name in (".", "..")
        ):
            raise PackageError(
                f"artifact name {name!r} is not valid: use a non-empty name without path separators"
            )
        source = _local_source(value, f"artifact '{name}'")
        relative = f"artifacts/{name}" if source.is_dir() else f"artifacts/{name}/{source.name}"
        copy_into(source, directory / relative)
        stored[name] = relative
    return stored


def write_model_config(
    directory: Path, model_config: Mapping[str, Any] | str | Path | None
) -> dict[str, Any]:
    """Store ``model_config`` (a dict, or a YAML file's path) and return it as a dict."""
    if model_config is None:
        return {}
    if isinstance(model_config, (str, Path)):
        path = Path(model_config)
        if not path.is_file():
            raise PackageError(
                f"model_config must be a dict or a YAML file's path; '{model_config}' is not a file"
            )
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise PackageError(f"model_config file '{path}' is not valid YAML: {exc}") from None
        if config is None:
            config = {}
    else:
        config = model_config
    if not isinstance(config, Mapping):
        raise PackageError(f"model_config must be a mapping, got {type(config).__name__}")
    config = dict(config)
    try:
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise PackageError(
            f"model_config must hold plain values (YAML-serialisable): {exc}"
        ) from None
    (directory / MODEL_CONFIG_FILE).write_text(text, encoding="utf-8")
    return config


def split_input_example(example: Any) -> tuple[Any, dict[str, Any] | None]:
    """``(input, params)`` from an example that may be a pair."""
    if isinstance(example, tuple):
        if len(example) != 2 or (example[1] is not None and not isinstance(example[1], Mapping)):
            raise PackageError("input_example as a tuple must be (input, params_dict)")
        return example[0], (dict(example[1]) if example[1] is not None else None)
    return example, None


def _to_jsonable(value: Any) -> tuple[Any, str]:
    if type(value).__name__ == "DataFrame" and hasattr(value, "to_dict"):
        return value.to_dict(orient="split"), "dataframe_split"
    if hasattr(value, "tolist"):
        return value.tolist(), "json"
    return value, "json"


def write_input_example(directory: Path, example: Any) -> str | None:
    """Write ``input_example.json`` (``{"input", "params", "format"}``); return its name."""
    if example is None:
        return None
    model_input, params = split_input_example(example)
    data, fmt = _to_jsonable(model_input)
    try:
        text = json.dumps(
            {"input": data, "params": params, "format": fmt},
            indent=2,
            ensure_ascii=False,
            default=str,
        )
    except (TypeError, ValueError) as exc:
        raise PackageError(f"input_example must be JSON-serialisable: {exc}") from None
    (directory / INPUT_EXAMPLE_FILE).write_text(text, encoding="utf-8")
    return INPUT_EXAMPLE_FILE


def read_input_example(directory: Path, name: str | None) -> tuple[Any, dict[str, Any] | None]:
    """The stored example as ``(input, params)``; a DataFrame when pandas is there and it was one."""
    if not name:
        return None, None
    data = json.loads((directory / name).read_text(encoding="utf-8"))
    model_input = data.get("input")
    if data.get("format") == "dataframe_split":
        try:
            import pandas as pd

            model_input = pd.DataFrame(**model_input)
        except ImportError:
            model_input = {
                c: [row[i] for row in model_input["data"]]
                for i, c in enumerate(model_input["columns"])
            }
    return model_input, data.get("params")
