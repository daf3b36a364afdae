"""The flavor registry: built-ins, run-time registration and the entry-point group."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelport
from modelport import Context, PythonModel
from modelport.errors import PackageError
from modelport.flavors import ENTRY_POINT_GROUP, get_flavor, register_flavor
from modelport.flavors import _registry as registry
from modelport.package.manifest import Manifest


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    saved = dict(registry)
    yield
    registry.clear()
    registry.update(saved)


class Constant(PythonModel):
    def __init__(self, value: Any) -> None:
        self.value = value

    def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
        return self.value


class ConstantFlavor:
    """A third-party flavor: the package holds one value in ``value.yaml``."""

    name = "constant"

    def load(self, path: Path, manifest: Manifest) -> tuple[PythonModel, Context]:
        value = yaml.safe_load((path / "value.yaml").read_text())
        return Constant(value), Context()


def write_constant_package(directory: Path, value: Any) -> Path:
    directory.mkdir()
    (directory / "value.yaml").write_text(yaml.safe_dump(value))
    Manifest(flavor="constant").write(directory)
    return directory


def test_the_python_flavor_is_built_in() -> None:
    assert get_flavor("python").name == "python"


def test_a_flavor_registered_at_run_time_loads_its_packages(tmp_path: Path) -> None:
    register_flavor(ConstantFlavor())
    package = write_constant_package(tmp_path / "pkg", {"answer": 42})

    loaded = modelport.load_model(package)

    assert loaded.metadata.flavor == "constant"
    assert loaded.predict(None) == {"answer": 42}


def test_a_flavor_is_found_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "thirdparty_flavor.py").write_text(
        "from pathlib import Path\n"
        "from modelport import Context, PythonModel\n"
        "class Const(PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return 'from a plugin'\n"
        "class Flavor:\n"
        "    name = 'plugin'\n"
        "    def load(self, path, manifest):\n"
        "        return Const(), Context()\n"
        "flavor = Flavor()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = importlib.metadata.EntryPoint(
        name="plugin", value="thirdparty_flavor:flavor", group=ENTRY_POINT_GROUP
    )
    real_entry_points = importlib.metadata.entry_points

    def entry_points(**kwargs: Any) -> Any:
        if kwargs.get("group") == ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints([entry])
        return real_entry_points(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    package = tmp_path / "pkg"
    package.mkdir()
    Manifest(flavor="plugin").write(package)

    assert modelport.load_model(package).predict("x") == "from a plugin"
    monkeypatch.delitem(sys.modules, "thirdparty_flavor")


def test_an_unknown_flavor_lists_the_installed_ones() -> None:
    with pytest.raises(PackageError) as caught:
        get_flavor("onnx")

    assert caught.value.message.startswith("Unknown flavor 'onnx'; installed flavors: ")
    assert "python" in caught.value.message and "transformers" in caught.value.message


def test_a_built_in_flavor_without_its_extras_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelport import flavors

    monkeypatch.setitem(flavors._BUILTIN, "ghost", "modelport.flavors.no_such_module")

    with pytest.raises(
        PackageError, match=r"needs extra packages: pip install 'modelport\[ghost\]'"
    ):
        get_flavor("ghost")
