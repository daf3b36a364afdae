"""requirements.txt: given by the user, or inferred from the modules the model's code imports."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import inspect
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelport.errors import PackageError


def _imported_top_modules(source: str) -> set[str]:
    names: set[str] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _source_of(obj: Any) -> str:
    module = inspect.getmodule(type(obj))
    if module is None:
        return ""
    try:
        return inspect.getsource(module)
    except (OSError, TypeError):
        return ""


@functools.lru_cache(maxsize=1)
def _distributions_by_module() -> dict[str, list[str]]:
    # scanning every installed distribution takes ~0.1 s: once per process is enough
    return dict(importlib.metadata.packages_distributions())


def infer_requirements(sources: Iterable[str]) -> list[str]:
    """Pinned distributions for the third-party modules imported by ``sources``."""
    modules: set[str] = set()
    for source in sources:
        modules |= _imported_top_modules(source)
    by_module = _distributions_by_module()
    found: dict[str, str] = {}
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module in ("modelport", "__future__"):
            continue
        for dist in by_module.get(module, []):
            try:
                found[dist.lower()] = f"{dist}=={importlib.metadata.version(dist)}"
            except importlib.metadata.PackageNotFoundError:
                continue
    return [found[k] for k in sorted(found)]


def modelport_requirement() -> str:
    from modelport import __version__

    return f"modelport=={__version__}"


def _read_requirements(value: str | Path | Iterable[str], what: str) -> list[str]:
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.is_file():
            raise PackageError(
                f"{what} must be a list of requirements or a path to a "
                f"requirements file; '{value}' is not a file"
            )
        lines = path.read_text(encoding="utf-8").splitlines()
    else:
        lines = list(value) if isinstance(value, Iterable) else [value]
        if not all(isinstance(line, str) for line in lines):
            raise PackageError(
                f"{what} must be a list of strings or a path to a requirements file, "
                f"got {type(value).__name__}"
            )
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def write_requirements(
    directory: Path,
    *,
    pip_requirements: str | Path | Iterable[str] | None,
    extra_pip_requirements: str | Path | Iterable[str] | None,
    model: Any = None,
    code_sources: Iterable[str] = (),
    defaults: Iterable[str] = (),
) -> Path:
    """Write ``requirements.txt``: given, or inferred; always naming modelport."""
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise PackageError("pass pip_requirements or extra_pip_requirements, not both")
    if pip_requirements is not None:
        lines = _read_requirements(pip_requirements, "pip_requirements")
    else:
        sources = list(code_sources)
        if model is not None:
            sources.append(_source_of(model))
        lines = [*defaults, *infer_requirements(sources)]
        if extra_pip_requirements is not None:
            lines += _read_requirements(extra_pip_requirements, "extra_pip_requirements")
    if not any(
        line.split("==")[0].split(">")[0].split("[")[0].strip() == "modelport" for line in lines
    ):
        lines.insert(0, modelport_requirement())
    unique = list(dict.fromkeys(lines))
    path = directory / "requirements.txt"
    path.write_text("\n".join(unique) + "\n", encoding="utf-8")
    return path
