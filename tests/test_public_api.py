"""The curated public API: ``modelport.__all__`` is exactly the public names of the namespace."""

from __future__ import annotations

import inspect

import modelport
import modelport.errors
import modelport.types

TYPING_HELPERS = {"annotations", "TYPE_CHECKING", "Any"}


def public_names(module: object) -> set[str]:
    """Names a user sees with ``dir()`` (lazy ones included), less submodules and typing helpers."""
    return {
        name
        for name in dir(module)
        if not name.startswith("_")
        and name not in TYPING_HELPERS
        and not inspect.ismodule(getattr(module, name))
    }


def test_all_matches_the_public_names_of_the_package() -> None:
    assert sorted(modelport.__all__) == sorted(public_names(modelport) | {"__version__"})


def test_every_name_in_all_exists() -> None:
    for name in modelport.__all__:
        assert hasattr(modelport, name), name


def test_the_types_and_errors_modules_export_everything_they_define() -> None:
    assert set(modelport.types.__all__) == public_names(modelport.types)
    assert set(modelport.errors.__all__) == public_names(modelport.errors)


def test_the_authoring_names_users_import() -> None:
    for name in (
        "ChatModel",
        "PythonModel",
        "Context",
        "set_model",
        "save_model",
        "load_model",
        "infer_signature",
        "Signature",
        "ColSpec",
        "ParamSpec",
    ):
        assert name in modelport.__all__


def test_version_is_a_string() -> None:
    assert isinstance(modelport.__version__, str) and modelport.__version__.count(".") == 2


def test_importing_modelport_keeps_the_heavy_optional_packages_out() -> None:
    import subprocess
    import sys

    heavy = ["pandas", "numpy", "torch", "transformers", "fastapi", "sqlalchemy", "openai"]
    code = f"import sys, modelport; print([m for m in {heavy!r} if m in sys.modules])"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"
