"""The weights' dtype a transformers package is loaded in, and ``dtype="auto"``.

``auto`` (the default of a package saved without a dtype) picks what runs fastest on the
machine that loads the package, not what the checkpoint was saved in:

- **bfloat16** on a CPU with native bf16 arithmetic (Intel AMX or AVX512-BF16, also on AMD
  Zen 4 and later) and on a CUDA GPU that has it (float16 on an older GPU);
- **float32** on any other CPU: without native bf16 every bf16 product is converted in software,
  and the model runs about twice as slowly as in float32 (measured on an AVX2-only EPYC).

The decision reads the CPU's flags (``/proc/cpuinfo``, or torch's own feature checks where
there is no such file), so it costs nothing at load time; it is logged, and shown by ``/v1/models`` and
``modelport info``. bf16 keeps 8 bits of mantissa: greedy answers may differ from float32 ones
after a few tokens.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import PackageError
from modelport.flavors.transformers.config import DTYPES


@dataclass(frozen=True)
class DtypeChoice:
    """The dtype a model is loaded in (a torch dtype's name) and why."""

    name: str
    reason: str

    @property
    def torch_dtype(self) -> Any:
        import torch

        return getattr(torch, self.name)


# each native bf16 instruction set: its flag in /proc/cpuinfo, and torch's check of it
_FEATURES = {
    "AMX": ("amx_bf16", "_is_amx_tile_supported"),
    "AVX512-BF16": ("avx512_bf16", "_is_avx512_bf16_supported"),
}


def cpu_bf16_features() -> list[str]:
    """The CPU's native bf16 instruction sets (``AMX``, ``AVX512-BF16``); empty: none.

    Read from ``/proc/cpuinfo``'s flags (``amx_bf16``, ``avx512_bf16``); where there is no such
    file, from torch's own feature checks.
    """
    flags = _proc_cpu_flags()
    if flags:
        return [name for name, (flag, _) in _FEATURES.items() if flag in flags]
    import torch

    found: list[str] = []
    for name, (_, check_name) in _FEATURES.items():
        check = getattr(torch.cpu, check_name, None)
        try:
            if check is not None and check():
                found.append(name)
        except Exception:  # a torch built without cpuinfo: no native bf16 known
            continue
    return found


@functools.cache  # the CPU does not change while the process runs
def _proc_cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def choose_dtype(requested: str | None, device: str) -> DtypeChoice:
    """The dtype to load in: ``requested`` as given, or for ``None``/``"auto"`` the machine's
    fastest (see the module docstring). ``device`` is the resolved one (``cpu``/``cuda``)."""
    if requested is not None and requested not in DTYPES:
        raise PackageError(f"dtype {requested!r} is not supported; accepted: {', '.join(DTYPES)}")
    if requested is not None and requested != "auto":
        return DtypeChoice(requested, "as asked")
    if device == "cuda":
        import torch

        if torch.cuda.is_bf16_supported(including_emulation=False):
            return DtypeChoice("bfloat16", "auto: the GPU has bf16")
        # as vLLM does on GPUs before Ampere: float16 (bf16 is only emulated there)
        return DtypeChoice("float16", "auto: the GPU has no native bf16")
    features = cpu_bf16_features()
    if features:
        return DtypeChoice("bfloat16", f"auto: the CPU has native bf16 ({', '.join(features)})")
    return DtypeChoice(
        "float32",
        "auto: the CPU has no native bf16 (no AMX or AVX512-BF16), where float32 is faster",
    )
