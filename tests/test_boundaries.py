"""The layering the architecture promises: serving and tracking know flavors only by contract.

A new flavor plugs in through entry points (``modelport.flavors``, ``modelport.uri_schemes``);
if ``serving/`` or ``tracking/`` imported a flavor module, it would have to be edited instead.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import modelport

SRC = Path(modelport.__file__).parent
# What the server and the tracking code must not name: a flavor's own modules (the contract,
# ``modelport.flavors`` itself, is allowed), the public transformers module, the engine (a
# flavor's internals) and torch.
FLAVOR_MODULES = sorted(
    f"modelport.flavors.{path.stem}"
    for path in (SRC / "flavors").iterdir()
    if path.name != "__init__.py" and (path.suffix == ".py" or (path / "__init__.py").exists())
)
FORBIDDEN = (
    *FLAVOR_MODULES,
    "modelport.transformers",
    "modelport.gguf",
    "modelport.engine",
    "torch",
)


def forbidden(module: str) -> bool:
    return any(module == bad or module.startswith(f"{bad}.") for bad in FORBIDDEN)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in ``path``, top-level or inside a function."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # ``from modelport.flavors import transformers`` names a flavor module too
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def violations(package: str) -> list[str]:
    out = []
    for path in sorted((SRC / package).rglob("*.py")):
        for line, module in imported_modules(path):
            if forbidden(module):
                out.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("package", ["serving", "tracking"])
def test_serving_and_tracking_import_no_flavor_module(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_a_function_level_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from modelport.flavors.transformers.load import x\n")
    assert (2, "modelport.flavors.transformers.load") in imported_modules(module)
    assert forbidden("modelport.flavors.transformers.load")
    assert forbidden("modelport.flavors.python")
    assert not forbidden("modelport.flavors.get_flavor")


def test_importing_the_server_and_tracking_loads_no_flavor_or_torch() -> None:
    code = (
        "import json, sys\n"
        "import modelport.serving.app, modelport.tracking, modelport.tracking.uris\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'torch'"
        " or m.startswith(('modelport.flavors.transformers', 'modelport.engine')))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def in_tracking(module: str) -> bool:
    return module == "modelport.tracking" or module.startswith("modelport.tracking.")


def imported_module(module: str, name: str) -> str:
    """The module that ``from module import name`` loads: ``module.name`` if that is a module."""
    submodule = SRC.parent / Path(*module.split("."), name)
    if submodule.with_suffix(".py").is_file() or (submodule / "__init__.py").is_file():
        return f"{module}.{name}"
    return module


def tracking_imports(path: Path) -> tuple[set[str], list[str]]:
    """The tracking modules that ``path`` imports at its top level, and ``line: module`` for
    each one it imports inside a function."""
    tree = ast.parse(path.read_text(), str(path))
    top = {
        imported_module(node.module, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and in_tracking(node.module)
        for alias in node.names
    }
    nested = [
        f"{node.lineno}: {node.module}"
        for function in ast.walk(tree)
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom) and node.module and in_tracking(node.module)
    ]
    return top, nested


def test_tracking_modules_import_one_another_at_the_top_without_a_cycle() -> None:
    graph: dict[str, set[str]] = {}
    nested: list[str] = []
    for path in sorted((SRC / "tracking").rglob("*.py")):
        graph[module_name(path)], inside = tracking_imports(path)
        nested += [f"{path.relative_to(SRC)}:{where}" for where in inside]
    assert nested == [], "an import inside a function hides a cycle"

    def cycle_from(module: str, trail: list[str]) -> list[str] | None:
        if module in trail:
            return [*trail[trail.index(module) :], module]
        for imported in sorted(graph.get(module, ())):
            found = cycle_from(imported, [*trail, module])
            if found:
                return found
        return None

    cycles = [cycle_from(module, []) for module in sorted(graph)]
    assert [cycle for cycle in cycles if cycle] == []
