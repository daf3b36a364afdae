"""The cost of constrained decoding: the same load with and without a ``json_schema``.

``python -m bench.structured`` starts one batching ``modelport serve`` on the demo model and, at
each concurrency level (1 and 16 by default; max_tokens 64, temperature 0, streaming), runs the
same requests plain and with ``response_format: json_schema`` (:data:`SCHEMA`, strict), on the
same server, one right after the other. Prints output tok/s for both and their ratio (the
target: >= 0.8 at 16 clients), and the grammar compile time for the schema (llguidance
tokenizer built once per model, then each new schema).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.loadgen import LoadSpec, format_row, run_load
from bench.server import ServerProcess

# A typical app schema: nested object, enum, bounded integer, bounded array of strings.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"enum": ["low", "medium", "high"]},
        "year": {"type": "integer", "minimum": 0, "maximum": 3000},
        "sources": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "details": {
            "type": "object",
            "properties": {"country": {"type": "string"}, "population": {"type": "integer"}},
            "required": ["country"],
            "additionalProperties": False,
        },
    },
    "required": ["answer", "confidence", "details"],
    "additionalProperties": False,
}
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
}


def compile_times(uri: str) -> dict[str, float]:
    """Seconds to build the llguidance tokenizer (once per model) and to compile SCHEMA."""
    from transformers import AutoTokenizer

    from modelport.flavors.transformers.config import TransformersConfig
    from modelport.flavors.transformers.load import model_folder
    from modelport.package.manifest import Manifest
    from modelport.package.uri import resolve_model_uri
    from modelport.structured.grammar import Grammars, response_format_grammar
    from modelport.types.chat import ResponseFormat

    package = resolve_model_uri(uri)
    config = TransformersConfig.from_dict(Manifest.read(package).flavor_config)
    tokenizer = AutoTokenizer.from_pretrained(model_folder(package, config))
    grammars = Grammars(
        tokenizer, vocab_size=len(tokenizer), eos_token_ids=[tokenizer.eos_token_id]
    )
    started = time.perf_counter()
    grammars.lltokenizer()
    tokenizer_s = time.perf_counter() - started
    started = time.perf_counter()
    grammar = response_format_grammar(ResponseFormat.parse(RESPONSE_FORMAT))
    assert grammar is not None
    grammars.constraint(grammar)
    compile_s = time.perf_counter() - started
    started = time.perf_counter()
    grammars.constraint(grammar)
    cached_s = time.perf_counter() - started
    return {"tokenizer_s": tokenizer_s, "schema_compile_s": compile_s, "cached_s": cached_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.structured", description=__doc__)
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--requests-per-client", type=int, default=4)
    parser.add_argument("--model", default=None, help="model URI (default: the demo model)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    if args.model is None:
        from modelport.demo import build_demo_package

        args.model = str(build_demo_package())
    results: dict[str, Any] = {"compile": compile_times(args.model), "levels": []}
    print(
        f"llguidance tokenizer {results['compile']['tokenizer_s'] * 1000:.0f} ms (once per "
        f"model); schema compile {results['compile']['schema_compile_s'] * 1000:.1f} ms, "
        f"cached {results['compile']['cached_s'] * 1000:.2f} ms",
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with ServerProcess(args.model, log=args.out / "server-structured.log") as server:
        server.wait_ready()
        for fmt in (
            None,
            RESPONSE_FORMAT,
        ):  # warm both paths (the first grammar builds the tokenizer)
            warm = LoadSpec(server.url, server.name, 2, 2, max_tokens=8, response_format=fmt)
            asyncio.run(run_load(warm))
        for level in args.concurrency:
            row: dict[str, Any] = {"concurrency": level}
            for label, fmt in (("plain", None), ("json_schema", RESPONSE_FORMAT)):
                spec = LoadSpec(
                    server.url,
                    server.name,
                    concurrency=level,
                    requests=max(4, level * args.requests_per_client),
                    max_tokens=args.max_tokens,
                    response_format=fmt,
                )
                summary = asyncio.run(run_load(spec))
                print(format_row(label, summary), flush=True)
                row[label] = summary["output_tok_s"]
            row["ratio"] = row["json_schema"] / row["plain"] if row["plain"] else None
            print(f"  c={level}: json_schema / plain = {row['ratio']:.2f} (target >= 0.8 at 16)")
            results["levels"].append(row)
    (args.out / "structured.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
