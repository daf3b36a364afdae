"""``dtype="auto"``: bfloat16 where the machine has native bf16, float32 elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import modelport
import modelport.transformers
from modelport.errors import PackageError
from modelport.flavors.transformers import dtypes
from modelport.flavors.transformers.dtypes import choose_dtype, cpu_bf16_features


def _flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="reads /proc/cpuinfo")
def test_the_cpu_features_are_those_its_flags_name() -> None:
    flags = _flags()
    expected = [
        name
        for name, flag in (("AMX", "amx_bf16"), ("AVX512-BF16", "avx512_bf16"))
        if flag in flags
    ]
    assert cpu_bf16_features() == expected


@pytest.mark.parametrize(
    ("features", "name"),
    [(["AMX", "AVX512-BF16"], "bfloat16"), (["AVX512-BF16"], "bfloat16"), ([], "float32")],
)
def test_auto_picks_bf16_only_on_a_cpu_with_native_bf16(
    monkeypatch: pytest.MonkeyPatch, features: list[str], name: str
) -> None:
    # the CPU's flags are outside the project: stand in for the other kinds of machine
    monkeypatch.setattr(dtypes, "cpu_bf16_features", lambda: features)
    for requested in (None, "auto"):
        choice = choose_dtype(requested, "cpu")
        assert choice.name == name
        assert choice.torch_dtype == getattr(torch, name)
        assert choice.reason.startswith("auto: ")
    if features:
        assert ", ".join(features) in choose_dtype(None, "cpu").reason
    else:
        assert "no native bf16" in choose_dtype(None, "cpu").reason


def test_an_explicit_dtype_is_kept_whatever_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dtypes, "cpu_bf16_features", lambda: [])
    assert choose_dtype("bfloat16", "cpu").name == "bfloat16"
    monkeypatch.setattr(dtypes, "cpu_bf16_features", lambda: ["AMX"])
    assert choose_dtype("float32", "cpu").name == "float32"
    assert choose_dtype("float16", "cpu").reason == "as asked"


def test_an_unknown_dtype_names_the_accepted_ones() -> None:
    with pytest.raises(PackageError, match="dtype 'int4' is not supported; accepted: auto"):
        choose_dtype("int4", "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_auto_on_a_gpu_is_bf16_where_it_has_it() -> None:
    native = torch.cuda.get_device_properties(0).major >= 8  # Ampere and later
    expected = "bfloat16" if native else "float16"
    assert choose_dtype("auto", "cuda").name == expected


def _machine_choice() -> str:
    return "bfloat16" if cpu_bf16_features() else "float32"


def test_a_package_saved_without_a_dtype_loads_in_the_machines_choice(
    tmp_path: Path, tiny_llama: tuple[Any, Any]
) -> None:
    model, tokenizer = tiny_llama
    modelport.transformers.save_model(
        tmp_path / "pkg", {"model": model, "tokenizer": tokenizer}, progress=False
    )
    loaded, _ = modelport.transformers.load_model(tmp_path / "pkg")
    assert loaded.dtype == getattr(torch, _machine_choice())
    with modelport.load_model(tmp_path / "pkg") as chat:
        info = chat.engine_info()
        assert info is not None
        assert info["dtype"] == _machine_choice()
        assert info["dtype_reason"].startswith("auto: ")
    with modelport.load_model(tmp_path / "pkg", dtype="float32") as chat:
        info = chat.engine_info()
        assert info is not None
        assert (info["dtype"], info["dtype_reason"]) == ("float32", "as asked")


def test_info_shows_the_dtype_the_package_loads_in_here(
    tmp_path: Path,
    tiny_llama_folder: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelport.cli.main import main

    monkeypatch.setenv("COLUMNS", "250")  # the reason in full, on one line
    for dtype, shown in ((None, f"{_machine_choice()} (auto: "), ("float16", "float16 (as asked)")):
        modelport.transformers.save_model(
            tmp_path / str(dtype), tiny_llama_folder, dtype=dtype, progress=False
        )
        assert main(["info", "-m", str(tmp_path / str(dtype))]) == 0
        rows = [line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()]
        shown_row = next(row[1].strip() for row in rows if row and row[0] == "dtype")
        assert shown_row.startswith(shown)
