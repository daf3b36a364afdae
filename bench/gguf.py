"""modelport serving a GGUF file beside llama.cpp's own ``llama-server``, same file, one run.

``llama-server`` is built from the llama.cpp that ``llama-cpp-python`` (the binding modelport
uses) vendors, so both run the same kernels; it is built once and cached under
``~/.cache/modelport/llama-server/<version>-<CPU flags hash>/``. It runs with ``--parallel``
slots for the most clients, continuous batching, flash attention and the same context as
modelport's default cache; on a CPU with AMX with ``--no-repack`` (see docs/engine.md).

    .venv/bin/python -m bench.gguf                     # the demo's Q4_1 file, 1 4 16 32 clients
    .venv/bin/python -m bench.gguf -c 1 16 --gguf path/to/model.gguf

Output tok/s, TTFT and TPOT per level, the RSS of both servers, and the issue's targets.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import LoadSpec, format_row, run_load
from bench.server import ServerProcess, free_port, rss_bytes

MiB = 1024 * 1024


def _cpu_key() -> str:
    flags = next(
        (
            line
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        ),
        "",
    )
    return hashlib.sha256(flags.encode()).hexdigest()[:12]


def build_llama_server(cache: Path) -> Path:
    """``llama-server`` from the vendored llama.cpp of the installed binding's source."""
    version = importlib.metadata.version("llama-cpp-python")
    target = cache / "llama-server" / f"{version}-{_cpu_key()}"
    binary = target / "llama-server"
    if binary.is_file():
        return binary
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        print(f"building llama-server from llama-cpp-python {version}'s llama.cpp "
              "(a few minutes; cached)", flush=True)  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             "-d", scratch, f"llama-cpp-python=={version}"],
            check=True,
        )  # fmt: skip
        (sdist,) = Path(scratch).glob("llama_cpp_python-*.tar.gz")
        with tarfile.open(sdist) as archive:
            archive.extractall(scratch, filter="data")
        source = next(Path(scratch).glob("llama_cpp_python-*")) / "vendor" / "llama.cpp"
        build = Path(scratch) / "build"
        subprocess.run(
            ["cmake", "-S", str(source), "-B", str(build), "-G", "Ninja",
             "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DLLAMA_CURL=OFF",
             "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
             "-DBUILD_SHARED_LIBS=OFF"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            ["cmake", "--build", str(build), "--target", "llama-server", "-j", str(os.cpu_count())],
            check=True,
        )  # fmt: skip
        (build / "bin" / "llama-server").replace(binary)
    return binary


class LlamaServer:
    """``llama-server`` on a free loopback port, stopped by ``with``."""

    def __init__(self, binary: Path, gguf: Path, *, parallel: int, context: int, log: Path):
        from modelport.engine.llama import cpu_has_amx

        self.name = "demo"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            str(binary), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(self.port),
            "--parallel", str(parallel), "--cont-batching", "--ctx-size", str(context),
            "--kv-unified", "--flash-attn", "on", "--threads", str(len(os.sched_getaffinity(0))),
        ]  # fmt: skip
        if cpu_has_amx():
            command.append("--no-repack")
        self._log = log.open("w")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TimeoutError("llama-server was not ready in time")

    def rss_bytes(self) -> tuple[int, int]:
        return rss_bytes(self.process.pid)

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def measure(server: Any, label: str, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    server.wait_ready()
    ready = time.perf_counter() - started
    asyncio.run(run_load(LoadSpec(server.url, server.name, concurrency=2, requests=4,
                                  max_tokens=8)))  # fmt: skip
    print(f"[{label}] ready in {ready:.1f}s", flush=True)
    levels = []
    for level in args.concurrency:
        spec = LoadSpec(server.url, server.name, concurrency=level,
                        requests=max(8, 3 * level), max_tokens=args.max_tokens)  # fmt: skip
        summary = asyncio.run(run_load(spec))
        summary.pop("records", None)
        summary["server_rss_bytes"] = server.rss_bytes()[0]
        print(format_row(label[:14], summary), flush=True)
        levels.append(summary)
    return {"label": label, "ready_s": ready, "levels": levels}


def report(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    lines = [
        "| clients | modelport tok/s | llama-server tok/s | ratio | TTFT p50 (ms) ours / theirs "
        "| TPOT p50 (ms) ours / theirs | RSS (MiB) ours / theirs |",
        "|---|---|---|---|---|---|---|",
    ]
    for a, b in zip(ours["levels"], theirs["levels"], strict=True):
        ratio = a["output_tok_s"] / b["output_tok_s"] if b["output_tok_s"] else float("nan")
        lines.append(
            f"| {a['concurrency']} | {a['output_tok_s']:.1f} | {b['output_tok_s']:.1f} | "
            f"{ratio:.2f} | {a['ttft_ms']['p50']:.0f} / {b['ttft_ms']['p50']:.0f} | "
            f"{a['tpot_ms']['p50']:.1f} / {b['tpot_ms']['p50']:.1f} | "
            f"{a['server_rss_bytes'] / MiB:.0f} / {b['server_rss_bytes'] / MiB:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--gguf", type=Path, default=None, help="a .gguf file (default: the demo)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/gguf"))
    args = parser.parse_args(argv)
    from modelport.demo import demo_gguf_file
    from modelport.engine.llama import LlamaModel
    from modelport.flavors.gguf.save import save_model
    from modelport.storage.cache import cache_dir

    args.out.mkdir(parents=True, exist_ok=True)
    gguf = (args.gguf or demo_gguf_file()).absolute()
    binary = build_llama_server(cache_dir())
    package = args.out / "package"
    save_model(package, gguf_file=gguf, copy=False, overwrite=True, progress=False)
    model = LlamaModel(gguf)
    context = model.context_length  # modelport's default cache: the trained context, in cells
    model.close()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "?",
    )  # fmt: skip
    print(f"CPU: {cpu}, {len(os.sched_getaffinity(0))} cores; {gguf.name}", flush=True)
    with ServerProcess(str(package), log=args.out / "modelport.log") as server:
        ours = measure(server, "modelport", args)
    with LlamaServer(binary, gguf, parallel=max(args.concurrency), context=context,
                     log=args.out / "llama-server.log") as server:  # fmt: skip
        theirs = measure(server, "llama-server", args)
    table = report(ours, theirs)
    print(table)
    (args.out / "results.json").write_text(json.dumps({"cpu": cpu, "modelport": ours,
                                                        "llama_server": theirs}, indent=2))  # fmt: skip
    (args.out / "results.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
