"""The flavor contract and registry: built-ins and plugins through the entry-point group,
run-time registration, load options, and finding a flavor's save by its model argument."""

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
from modelport.errors import InvalidRequestError, PackageError
from modelport.flavors import (
    ENTRY_POINT_GROUP,
    LoadOptions,
    flavor_for_save,
    get_flavor,
    register_flavor,
)
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


class ConstantOptions(LoadOptions):
    scale: int = 1


def write_constant_package(path: str | Path, constant_value: Any = None) -> Manifest:
    directory = Path(path)
    directory.mkdir()
    (directory / "value.yaml").write_text(yaml.safe_dump(constant_value))
    manifest = Manifest(flavor="constant")
    manifest.write(directory)
    return manifest


class ConstantFlavor:
    """A third-party flavor: the package holds one value in ``value.yaml``; ``scale`` is a
    load option."""

    name = "constant"
    model_argument = "constant_value"
    options = ConstantOptions
    save = staticmethod(write_constant_package)

    def load(
        self, path: Path, manifest: Manifest, options: LoadOptions
    ) -> tuple[PythonModel, Context]:
        assert isinstance(options, ConstantOptions)
        value = yaml.safe_load((path / "value.yaml").read_text())
        return Constant(value if options.scale == 1 else value * options.scale), Context()


def test_the_python_flavor_is_built_in() -> None:
    assert get_flavor("python").name == "python"


def test_a_flavor_registered_at_run_time_loads_its_packages(tmp_path: Path) -> None:
    register_flavor(ConstantFlavor())
    write_constant_package(tmp_path / "pkg", {"answer": 42})

    loaded = modelport.load_model(tmp_path / "pkg")

    assert loaded.metadata.flavor == "constant"
    assert loaded.predict(None) == {"answer": 42}


def test_load_options_reach_the_flavor(tmp_path: Path) -> None:
    register_flavor(ConstantFlavor())
    write_constant_package(tmp_path / "pkg", 21)

    assert modelport.load_model(tmp_path / "pkg", scale=2).predict(None) == 42


@pytest.mark.parametrize(
    ("options", "message", "param"),
    [
        ({"batching": False}, r"has no load option 'batching' \(it takes scale\)", "batching"),
        ({"scale": "big"}, "'scale': Input should be a valid integer", "scale"),
    ],
)
def test_bad_load_options_are_refused_naming_them(
    tmp_path: Path, options: dict[str, Any], message: str, param: str
) -> None:
    register_flavor(ConstantFlavor())
    write_constant_package(tmp_path / "pkg", 1)

    with pytest.raises(InvalidRequestError, match=message) as caught:
        modelport.load_model(tmp_path / "pkg", **options)
    assert caught.value.param == param


def test_the_python_flavor_takes_no_load_options(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(
        "from modelport import PythonModel, set_model\n"
        "class M(PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return model_input\n"
        "set_model(M())\n"
    )
    modelport.save_model(tmp_path / "pkg", python_model=tmp_path / "model.py")

    with pytest.raises(InvalidRequestError, match="'python' flavor has no load option 'dtype'"):
        modelport.load_model(tmp_path / "pkg", dtype="float32")
    assert modelport.load_model(tmp_path / "pkg").predict([1]) == [1]


def test_a_flavor_is_found_for_saving_by_its_model_argument() -> None:
    register_flavor(ConstantFlavor())

    assert flavor_for_save({"python_model": "m.py", "input_example": 1}).name == "python"
    assert flavor_for_save({"transformers_model": "folder"}).name == "transformers"
    assert flavor_for_save({"constant_value": 3}).name == "constant"  # no <name>_model form
    with pytest.raises(InvalidRequestError, match=r"exactly one of .*constant_value= "):
        flavor_for_save({"input_example": 1})
    with pytest.raises(InvalidRequestError, match="got python_model= and transformers_model="):
        flavor_for_save({"python_model": "m.py", "transformers_model": "folder"})
    # A <name>_model keyword is taken first; log_model then refuses what that save does not take.
    assert flavor_for_save({"python_model": "m.py", "constant_value": 3}).name == "python"


def test_a_flavor_is_found_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "thirdparty_flavor.py").write_text(
        "from pathlib import Path\n"
        "from modelport import Context, PythonModel\n"
        "from modelport.flavors import LoadOptions\n"
        "class Const(PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return 'from a plugin'\n"
        "class Flavor:\n"
        "    name = 'plugin'\n"
        "    model_argument = 'plugin_model'\n"
        "    options = LoadOptions\n"
        "    def save(self, path, plugin_model=None):\n"
        "        raise NotImplementedError\n"
        "    def load(self, path, manifest, options):\n"
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


def test_a_flavor_whose_packages_are_missing_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = importlib.metadata.EntryPoint(
        name="ghost", value="modelport.flavors.no_such_module:flavor", group=ENTRY_POINT_GROUP
    )
    real_entry_points = importlib.metadata.entry_points

    def entry_points(**kwargs: Any) -> Any:
        if kwargs.get("group") == ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints([*real_entry_points(**kwargs), entry])
        return real_entry_points(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)

    with pytest.raises(PackageError, match=r"not installed .*pip install 'modelport\[ghost\]'"):
        get_flavor("ghost")


def test_the_built_in_flavors_come_from_the_entry_points() -> None:
    declared = {e.name for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert {"python", "transformers"} <= declared
