"""The web UI on a large experiment: how long the runs page's API calls take at 10,000 runs.

Builds an experiment of ``--runs`` runs (see ``bench/search_runs.py``) in a fresh SQLite store,
serves ``modelport ui`` over it on a free 127.0.0.1 port, and reports the median time of the
calls the pages make: the experiments list (run counts in one grouped query) and one page of
runs (``--page`` runs) with each ordering and filter of ``search_runs``' benchmark, plus the
time a headless chromium takes to show the runs table (when chromium and playwright are there).

    PYTHONPATH=src:. python bench/ui_pages.py [--runs 10000] [--page 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time

import httpx
import uvicorn

from bench.search_runs import QUERIES, build_experiment
from modelport.serving.server import bind_socket
from modelport.tracking import TrackingClient
from modelport.ui import create_ui_app


def median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        client = TrackingClient(folder)
        print(f"building {args.runs} runs…", flush=True)
        experiment = build_experiment(client, args.runs)
        sock = bind_socket("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(create_ui_app(folder), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with httpx.Client(base_url=f"{url}/ui/api", timeout=60) as http:
            rows = [("experiments list", median_ms(lambda: http.get("/experiments"), args.repeat))]
            for name, query in QUERIES.items():
                params = {"max_results": args.page}
                if "filter_string" in query:
                    params["filter"] = query["filter_string"]
                if "order_by" in query:
                    params["order_by"] = query["order_by"]

                def page(params=params) -> None:
                    answer = http.get(f"/experiments/{experiment}/runs", params=params)
                    answer.raise_for_status()

                rows.append((f"runs page: {name}", median_ms(page, args.repeat)))
        chromium = shutil.which("chromium")
        if chromium:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium)
                page = browser.new_page()

                times = []
                for _ in range(args.repeat):
                    page.goto("about:blank")  # each load is a whole page load
                    began = time.perf_counter()
                    page.goto(f"{url}/ui/#/experiments/{experiment}?size={args.page}")
                    page.get_by_role("rowheader").first.wait_for()
                    times.append((time.perf_counter() - began) * 1000)
                shown = f"browser: page loaded, runs table of {args.page} shown"
                rows.append((shown, statistics.median(times)))
                browser.close()
        server.should_exit = True
        thread.join(timeout=15)
    print(f"\n{args.runs} runs, pages of {args.page}, median of {args.repeat}:")
    for name, ms in rows:
        print(f"  {name:<60} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
