"""A load generator for any OpenAI-compatible server (async httpx).

``concurrency`` clients each send their next chat request as soon as the previous one is
answered, until ``requests`` have been sent (closed loop, like users waiting for answers). With
streaming, the time to the first content chunk (TTFT) and the gaps between chunks (ITL) are
measured from the SSE stream; without, only end-to-end latency.

    python -m bench.loadgen --url http://127.0.0.1:8080 --model demo -c 1 4 16 --requests 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.metrics import RequestRecord, summarize
from bench.prompts import messages


@dataclass(frozen=True)
class LoadSpec:
    """One run: where to send what, and how hard."""

    url: str
    model: str
    concurrency: int
    requests: int
    max_tokens: int = 64
    temperature: float = 0.0
    stream: bool = True
    api_key: str | None = None
    timeout: float = 300.0
    time_limit: float | None = None  # stop sending new requests after this many seconds
    response_format: dict[str, Any] | None = None  # sent with every request when given


def _payload(spec: LoadSpec, index: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": spec.model,
        "messages": messages(index),
        "max_tokens": spec.max_tokens,
        "temperature": spec.temperature,
        "stream": spec.stream,
    }
    if spec.stream:
        body["stream_options"] = {"include_usage": True}
    if spec.response_format is not None:
        body["response_format"] = spec.response_format
    return body


async def _one_request(client: httpx.AsyncClient, spec: LoadSpec, index: int) -> RequestRecord:
    start = time.perf_counter()
    try:
        if spec.stream:
            return await _streamed(client, spec, index, start)
        response = await client.post("/v1/chat/completions", json=_payload(spec, index))
        latency = time.perf_counter() - start
        if response.status_code != 200:
            return RequestRecord(ok=False, latency=latency, error=_error_text(response))
        body = response.json()
        usage = body.get("usage") or {}
        choice = (body.get("choices") or [{}])[0]
        return RequestRecord(
            ok=True,
            latency=latency,
            ttft=latency,
            output_tokens=int(usage.get("completion_tokens", 0)),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            finish_reason=choice.get("finish_reason"),
        )
    except (httpx.HTTPError, ValueError) as exc:
        return RequestRecord(
            ok=False, latency=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}"
        )


async def _streamed(
    client: httpx.AsyncClient, spec: LoadSpec, index: int, start: float
) -> RequestRecord:
    record = RequestRecord(ok=False)
    chunks = 0
    last: float | None = None
    async with client.stream(
        "POST", "/v1/chat/completions", json=_payload(spec, index)
    ) as response:
        if response.status_code != 200:
            await response.aread()
            record.latency = time.perf_counter() - start
            record.error = _error_text(response)
            return record
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            event = json.loads(data)
            if "error" in event:
                record.error = str(event["error"].get("message", event["error"]))
                record.latency = time.perf_counter() - start
                return record
            now = time.perf_counter()
            for choice in event.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    chunks += 1
                    if last is None:
                        record.ttft = now - start
                    else:
                        record.itl.append(now - last)
                    last = now
                if choice.get("finish_reason"):
                    record.finish_reason = choice["finish_reason"]
            usage = event.get("usage")
            if usage:
                record.output_tokens = int(usage.get("completion_tokens", 0))
                record.prompt_tokens = int(usage.get("prompt_tokens", 0))
    record.latency = time.perf_counter() - start
    record.output_tokens = record.output_tokens or chunks
    record.ok = True
    return record


def _error_text(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    return f"HTTP {response.status_code}: {message}"


async def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Run one concurrency level; return its summary (and the per-request records)."""
    headers = {"Authorization": f"Bearer {spec.api_key}"} if spec.api_key else {}
    limits = httpx.Limits(max_connections=spec.concurrency + 4)
    records: list[RequestRecord] = []
    next_index = 0
    started = time.perf_counter()

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal next_index
        while next_index < spec.requests:
            if spec.time_limit is not None and time.perf_counter() - started > spec.time_limit:
                return
            index, next_index = next_index, next_index + 1
            records.append(await _one_request(client, spec, index))

    async with httpx.AsyncClient(
        base_url=spec.url.rstrip("/"), headers=headers, timeout=spec.timeout, limits=limits
    ) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(spec.concurrency)))
    duration = time.perf_counter() - started
    summary = summarize(
        records, duration=duration, concurrency=spec.concurrency, max_tokens=spec.max_tokens
    )
    summary["stream"] = spec.stream
    summary["max_tokens"] = spec.max_tokens
    return summary


def format_row(label: str, s: dict[str, Any]) -> str:
    """One readable line of a level's figures."""

    def ms(group: str, key: str) -> str:
        value = s[group][key]
        return "-" if value is None else f"{value:.0f}"

    return (
        f"{label:<14} c={s['concurrency']:<3} req={s['completed']}/{s['requests']} "
        f"fail={s['failed']} tok/s={s['output_tok_s']:.1f} req/s={s['request_throughput']:.2f} "
        f"TTFT p50={ms('ttft_ms', 'p50')}ms p99={ms('ttft_ms', 'p99')}ms "
        f"TPOT p50={ms('tpot_ms', 'p50')}ms E2E p50={ms('e2e_ms', 'p50')}ms "
        f"p99={ms('e2e_ms', 'p99')}ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loadgen", description="Load an OpenAI-compatible chat endpoint."
    )
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--model", required=True, help="the 'model' field to send")
    parser.add_argument("-c", "--concurrency", type=int, nargs="+", default=[1, 4, 16, 32])
    parser.add_argument(
        "--requests", type=int, default=None, help="per level (default 2 x c, at least 8)"
    )
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--no-stream", dest="stream", action="store_false")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG plot here")
    args = parser.parse_args(argv)
    if any(c < 1 for c in args.concurrency) or (args.requests is not None and args.requests < 1):
        parser.error("concurrency and requests must be ≥ 1")
    levels = []
    for concurrency in args.concurrency:
        spec = LoadSpec(
            url=args.url,
            model=args.model,
            concurrency=concurrency,
            requests=args.requests or max(8, 2 * concurrency),
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            stream=args.stream,
            api_key=args.api_key,
        )
        summary = asyncio.run(run_load(spec))
        print(format_row("server", summary), flush=True)
        levels.append(summary)
    results = {"runs": {"server": levels}}
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    if args.plot:
        from bench.plot import plot

        plot(results, args.plot)
    return 1 if any(level["failed"] for level in levels) else 0


if __name__ == "__main__":
    sys.exit(main())
