"""The UI in a real browser (headless chromium): tracking pages over a store filled by the
fluent API, and the chat playground on real model servers (echo models, and the demo model).
Screenshots for docs/ui.md are written to docs/img/ui-*.png."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import modelport
from modelport.serving import ServerConfig, create_app
from modelport.tracking import TrackingClient

from .conftest import ECHO_MODEL, Running, Store, run_app, screenshot, stop_app

MODELS = Path(__file__).parents[1] / "serving" / "models"

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (scripts/install)")
from playwright.sync_api import expect  # noqa: E402


def test_experiments_runs_filter_sort_and_compare(ui_server: Running, page: Any) -> None:
    page.goto(ui_server.ui("#/experiments"))
    experiments = page.get_by_role("table", name="Experiments")
    expect(experiments.get_by_role("columnheader", name="Runs")).to_be_visible()
    expect(experiments.get_by_role("row", name=re.compile(r"sweep\s+3"))).to_be_visible()
    screenshot(page, "experiments")

    page.get_by_label("Search experiments").fill("chat")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="sweep")).to_have_count(0)
    expect(page.get_by_role("link", name="chatbots")).to_be_visible()
    page.get_by_label("Search experiments").fill("")
    page.get_by_role("button", name="Search").click()

    page.get_by_role("link", name="sweep").click()
    runs = page.get_by_role("table", name=re.compile("Runs"))
    expect(runs.get_by_role("columnheader", name="params.lr")).to_be_visible()
    expect(runs.get_by_role("columnheader", name="metrics.loss")).to_be_visible()
    expect(runs.get_by_role("rowheader")).to_have_count(3)

    runs.get_by_role("button", name="params.lr").click()  # descending first
    expect(runs.get_by_role("rowheader").first).to_have_text("lr-0.1")
    expect(runs.get_by_role("columnheader", name=re.compile("params.lr"))).to_have_attribute(
        "aria-sort", "descending"
    )
    runs.get_by_role("button", name=re.compile("params.lr")).click()
    expect(runs.get_by_role("rowheader").first).to_have_text("lr-0.001")

    page.get_by_label("Filter runs").fill("params.layers = '2'")
    page.get_by_role("button", name="Apply filter").click()
    expect(
        page.get_by_role("table", name=re.compile("Runs")).get_by_role("rowheader")
    ).to_have_count(2)

    page.get_by_label("Filter runs").fill("metrics.loss > oops")
    page.get_by_role("button", name="Apply filter").click()
    expect(page.get_by_role("alert")).to_contain_text("Cannot parse the filter clause")

    page.get_by_label("Filter runs").fill("")
    page.get_by_role("button", name="Apply filter").click()
    page.get_by_role("combobox", name="Runs per page").select_option("10")
    page.get_by_label("Select lr-0.1").check()
    compare = page.get_by_role("button", name="Compare selected runs")
    expect(compare).to_be_disabled()
    page.get_by_label("Select lr-0.001").check()
    screenshot(page, "runs")
    compare.click()

    params = page.get_by_role("table", name=re.compile("Parameters side by side"))
    expect(params.get_by_role("row", name=re.compile("^lr"))).to_have_attribute(
        "data-differs", "true"
    )
    expect(params.get_by_role("row", name=re.compile("^layers"))).to_have_attribute(
        "data-differs", "true"
    )
    chart = page.locator("figure[data-metric=loss]")
    expect(chart.get_by_role("img", name="Chart of loss over steps")).to_be_visible()
    # the chart is drawn: two runs' lines in the canvas, and the values as a table
    expect(chart.locator("table tbody tr")).to_have_count(2 * 10)
    page.wait_for_function(
        "() => !!Chart.getChart(document.querySelector('figure[data-metric=loss] canvas'))"
    )
    datasets = page.evaluate(
        "() => Chart.getChart(document.querySelector('figure[data-metric=loss] canvas')).data.datasets.map(d => d.label)"
    )
    assert sorted(datasets) == ["lr-0.001", "lr-0.1"]
    screenshot(page, "compare")


def test_the_run_page_charts_metrics_and_browses_artifacts(
    ui_server: Running, store: Store, page: Any
) -> None:
    page.goto(ui_server.ui(f"#/runs/{store.runs['lr-0.01']}"))
    expect(page.get_by_role("heading", name="lr-0.01")).to_be_visible()
    expect(
        page.get_by_role("table", name="Parameters").get_by_role("row", name="lr 0.01")
    ).to_be_visible()
    expect(page.get_by_role("img", name="Chart of loss over steps")).to_be_visible()
    page.get_by_role("combobox", name="X axis").select_option("time")
    expect(page.get_by_role("img", name="Chart of loss over time")).to_be_visible()

    artifacts = page.get_by_role("region", name="Artifacts")
    artifacts.get_by_role("button", name="Preview notes.txt").click()
    expect(page.get_by_label("Contents of notes.txt")).to_have_text("notes of run 1\n")
    artifacts.get_by_role("button", name="configs/").click()
    artifacts.get_by_role("button", name="Preview config.json").click()
    expect(page.get_by_label("Contents of config.json")).to_contain_text('"lr": 0.01')
    with page.expect_download() as download:
        artifacts.get_by_role("button", name="Download config.json").click()
    assert Path(download.value.path()).read_text() == '{"lr": 0.01, "i": 1}'
    screenshot(page, "run")


def test_registry_pages_set_and_remove_an_alias_and_edit_a_description(
    ui_server: Running, store: Store, page: Any
) -> None:
    client = TrackingClient(store.uri)
    page.goto(ui_server.ui("#/models"))
    models = page.get_by_role("table", name="Registered models")
    expect(
        models.get_by_role("row", name=re.compile(r"echo\s+v2\s+@champion → v1"))
    ).to_be_visible()
    models.get_by_role("link", name="echo").click()
    page.get_by_role("link", name="v2", exact=True).click()

    expect(page.get_by_role("heading", name="echo v2")).to_be_visible()
    package = page.get_by_role("region", name="Package")
    expect(package.get_by_role("row", name="Flavor python")).to_be_visible()
    expect(package.get_by_label("Signature")).to_contain_text("messages")
    expect(package.get_by_label("Input example")).to_contain_text('"hi"')

    page.get_by_label("Alias", exact=True).fill("prod")
    page.get_by_role("button", name="Set alias").click()
    expect(page.get_by_role("button", name="Remove alias prod")).to_be_visible()
    assert client.get_model_version_by_alias("echo", "prod").version == 2

    page.get_by_label("Alias", exact=True).fill("not valid!")
    page.get_by_role("button", name="Set alias").click()
    expect(page.get_by_role("alert")).to_contain_text("alias")

    page.get_by_label("Description").fill("the second echo")
    page.get_by_role("button", name="Save description").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert client.get_model_version("echo", 2).description == "the second echo"
    screenshot(page, "version")

    page.get_by_role("button", name="Remove alias prod").click()
    expect(page.get_by_role("button", name="Remove alias prod")).to_have_count(0)
    assert "prod" not in client.get_registered_model("echo").aliases


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A model server with the UI (``serve --ui``): two echo models and an async one."""
    root = tmp_path_factory.mktemp("chat-models")
    models = {}
    for name, code in [("echo", ECHO_MODEL), ("async", MODELS / "async_chat.py")]:
        modelport.save_model(root / name, python_model=code)
        models[name] = str(root / name)
    running, thread = serve_with_ui(ServerConfig(models=models, ui=True))
    yield running
    stop_app(running, thread)


def serve_with_ui(config: ServerConfig) -> tuple[Running, Any]:
    running, thread = run_app(create_app(config))
    deadline = time.monotonic() + 120
    while httpx.get(f"{running.url}/health").status_code != 200:
        assert time.monotonic() < deadline, "the models did not load"
        time.sleep(0.05)
    return running, thread


def test_chat_streams_shows_stats_code_and_side_by_side(chat_server: Running, page: Any) -> None:
    page.goto(chat_server.ui())
    expect(page).to_have_url(re.compile("#/chat$"))  # no store: the chat page only
    expect(page.get_by_role("link", name="Experiments")).to_be_hidden()
    model = page.get_by_label("Model", exact=True)
    expect(model.locator("option")).to_have_count(2)
    model.select_option("echo")
    page.get_by_label("Message").fill("hello from the browser")
    page.get_by_role("button", name="Send").click()
    answers = page.get_by_role("region", name="Answers of echo")
    expect(answers.locator(".message.assistant .content")).to_have_text("hello from the browser")
    stats = page.get_by_label("Statistics of echo")
    expect(stats).to_contain_text("TTFT")
    expect(stats).to_contain_text("completion tokens")

    page.get_by_text("Settings").click()
    page.get_by_label("Max tokens").fill("2")
    page.get_by_role("button", name="Show code").click()
    expect(page.get_by_label("curl command")).to_contain_text('"max_tokens": 2')
    expect(page.get_by_label("Python code")).to_contain_text("client.chat.completions.create(")
    expect(page.get_by_label("Python code")).to_contain_text("max_tokens=2")

    page.get_by_label("Second model").select_option("async")
    page.get_by_label("Message").fill("one two three")
    page.get_by_role("button", name="Send").click()
    expect(answers.locator(".message.assistant .content").last).to_have_text("one two")
    other = page.get_by_role("region", name="Answers of async")
    expect(other.locator(".message.assistant .content").last).to_have_text("asyncstream")
    expect(page.get_by_label("Statistics of async")).to_contain_text("TTFT")
    screenshot(page, "chat-side-by-side")


def test_chat_errors_are_shown_readably(chat_server: Running, page: Any) -> None:
    page.goto(chat_server.ui("#/chat"))
    page.get_by_label("Model", exact=True).select_option("echo")
    page.get_by_text("Settings").click()
    page.get_by_label("Temperature").fill("5")
    page.get_by_label("Message").fill("hi")
    page.get_by_role("button", name="Send").click()
    error = page.get_by_role("region", name="Answers of echo").get_by_role("alert")
    expect(error).to_contain_text("Error 400")
    expect(error).to_contain_text("temperature")
    # the refused question left the history: the next request's turns still alternate
    page.get_by_role("button", name="Show code").click()
    expect(page.get_by_label("Python code")).to_contain_text("messages=[],")

    page.get_by_label("Temperature").fill("")
    page.get_by_label("Tools (JSON array)").fill("[not json")
    page.get_by_label("Message").fill("hi")
    page.get_by_role("button", name="Send").click()
    notices = page.get_by_role("region", name="Notices")
    expect(notices.get_by_role("alert")).to_contain_text("Tools is not valid JSON")

    page.get_by_label("Tools (JSON array)").fill("")
    page.get_by_label("Server URL").fill("http://127.0.0.1:9/v1")
    page.get_by_role("button", name="Load models").click()
    expect(notices.get_by_role("alert")).to_contain_text("Cannot reach")
    screenshot(page, "chat-error")


def test_the_ui_is_behind_the_servers_api_key(tmp_path: Path, page: Any) -> None:
    modelport.save_model(tmp_path / "echo", python_model=ECHO_MODEL)
    running, thread = serve_with_ui(
        ServerConfig(models={"echo": str(tmp_path / "echo")}, ui=True, api_key="sesame")
    )
    try:
        assert httpx.get(running.ui()).status_code == 200  # the page holds no data
        assert httpx.get(f"{running.url}/ui/api/config").status_code == 401
        page.goto(running.ui("#/chat"))
        expect(page.get_by_role("alert")).to_contain_text("Error 401")
        page.get_by_label("API key").fill("sesame")
        page.get_by_label("API key").press("Enter")
        page.get_by_role("link", name="Chat").click()
        page.get_by_label("Model", exact=True).select_option("echo")
        page.get_by_label("Message").fill("behind a key")
        page.get_by_role("button", name="Send").click()
        answer = page.get_by_role("region", name="Answers of echo").locator(
            ".message.assistant .content"
        )
        expect(answer).to_have_text("behind a key")
    finally:
        stop_app(running, thread)


def test_tracking_pages_on_the_model_server_with_a_store(
    store: Store, tmp_path: Path, page: Any
) -> None:
    modelport.save_model(tmp_path / "echo", python_model=ECHO_MODEL)
    running, thread = serve_with_ui(
        ServerConfig(models={"echo": str(tmp_path / "echo")}, ui=True, ui_store=store.uri)
    )
    try:
        page.goto(running.ui())
        expect(page).to_have_url(re.compile("#/experiments$"))
        expect(page.get_by_role("link", name="sweep")).to_be_visible()
    finally:
        stop_app(running, thread)


@pytest.mark.slow
def test_the_demo_model_streams_and_stop_cancels_on_the_server(
    demo_model_uri: str, page: Any
) -> None:
    running, thread = serve_with_ui(ServerConfig(models={"demo": demo_model_uri}, ui=True))
    try:
        loaded = dict(running.server.config.app.state.modelport.models.loaded_models())["demo"]
        page.goto(running.ui("#/chat"))
        expect(page.get_by_label("Model", exact=True)).to_have_value("demo")
        page.get_by_text("Settings").click()
        page.get_by_label("Temperature").fill("0")
        page.get_by_label("Message").fill("What is the capital of France?")
        page.get_by_role("button", name="Send").click()
        answer = (
            page.get_by_role("region", name="Answers of demo").locator(".message.assistant").last
        )
        expect(answer).to_have_attribute("data-state", "done", timeout=60_000)
        expect(answer.locator(".content")).to_contain_text("Paris")
        expect(page.get_by_label("Statistics of demo")).to_contain_text("tok/s")
        screenshot(page, "chat-demo")

        page.get_by_label("Max tokens").fill("3000")
        page.get_by_label("Message").fill("Write a very long story about a dragon.")
        page.get_by_role("button", name="Send").click()
        streaming = (
            page.get_by_role("region", name="Answers of demo").locator(".message.assistant").last
        )
        expect(streaming.locator(".content")).not_to_be_empty(timeout=60_000)
        page.get_by_role("button", name="Stop").click()
        expect(streaming).to_have_attribute("data-state", "stopped")
        deadline = time.monotonic() + 20
        while loaded.stats().get("running", 0) != 0:  # the server saw the disconnect
            assert time.monotonic() < deadline, (
                f"the engine still runs the request: {loaded.stats()}"
            )
            time.sleep(0.05)
        tokens = loaded.stats()["tokens_generated"]
        time.sleep(0.5)
        assert loaded.stats()["tokens_generated"] == tokens
    finally:
        stop_app(running, thread)
