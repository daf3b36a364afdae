"""The UI's JSON API over a real store and a real server: what the pages read, and bad input."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from modelport.tracking import TrackingClient
from modelport.ui import create_ui_app

from .conftest import Running, Store, fill_store


@pytest.fixture
def http(ui_server: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{ui_server.url}/ui/api", timeout=30) as client:
        yield client


def error_of(response: httpx.Response) -> dict:
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_config_says_what_the_ui_serves(http: httpx.Client, store: Store) -> None:
    config = http.get("/config").json()
    assert config["tracking"] is True
    assert config["store"] == store.uri
    assert config["charts"] is True, "the chart library is missing: run scripts/install"


def test_experiments_have_run_counts_and_last_activity(http: httpx.Client, store: Store) -> None:
    experiments = {e["name"]: e for e in http.get("/experiments").json()["experiments"]}
    assert experiments["sweep"]["run_count"] == 3
    assert experiments["chatbots"]["run_count"] == 2
    last_run = TrackingClient(store.uri).get_run(store.runs["lr-0.001"])
    assert experiments["sweep"]["last_activity"] == last_run.info.end_time
    found = http.get("/experiments", params={"q": "BOT"}).json()["experiments"]
    assert [e["name"] for e in found] == ["chatbots"]


def test_runs_are_filtered_ordered_and_paged_by_the_store(http: httpx.Client, store: Store) -> None:
    path = f"/experiments/{store.sweep}/runs"
    page = http.get(path, params={"order_by": "params.lr ASC", "max_results": 2}).json()
    assert [r["run_name"] for r in page["runs"]] == ["lr-0.001", "lr-0.01"]
    assert page["columns"] == {"params": ["layers", "lr"], "metrics": ["loss"]}
    rest = http.get(
        path,
        params={
            "order_by": "params.lr ASC",
            "max_results": 2,
            "page_token": page["next_page_token"],
        },
    ).json()
    assert [r["run_name"] for r in rest["runs"]] == ["lr-0.1"]
    assert rest["next_page_token"] is None
    filtered = http.get(path, params={"filter": "params.layers = '4'"}).json()
    assert [r["run_name"] for r in filtered["runs"]] == ["lr-0.001"]
    assert filtered["runs"][0]["metrics"]["loss"] == pytest.approx(2 + 0.9139, abs=1e-3)


@pytest.mark.parametrize(
    ("params", "param", "words"),
    [
        ({"filter": "metrics.loss > bad"}, "filter", "Cannot parse the filter clause"),
        ({"filter": "colour = 'red'"}, "filter", "Unknown run attribute"),
        ({"order_by": "colour DESC"}, None, "Unknown run attribute"),
        ({"max_results": 0}, "max_results", "greater than or equal to 1"),
        ({"max_results": 5000}, "max_results", "less than or equal to 1000"),
        ({"page_token": "not-a-token"}, None, "token"),
    ],
)
def test_bad_searches_are_400s_that_say_what_is_wrong(
    http: httpx.Client, store: Store, params: dict, param: str | None, words: str
) -> None:
    response = http.get(f"/experiments/{store.sweep}/runs", params=params)
    assert response.status_code == 400
    error = error_of(response)
    assert words.lower() in error["message"].lower()
    if param is not None:
        assert error["param"] == param


def test_unknown_things_are_404s(http: httpx.Client, store: Store) -> None:
    assert http.get("/experiments/999").status_code == 404
    assert http.get("/experiments/999/runs").status_code == 404
    assert http.get(f"/runs/{'0' * 32}").status_code == 404
    assert http.get("/registered-models/nope").status_code == 404
    assert http.get("/registered-models/echo/versions/9").status_code == 404
    response = http.get(f"/runs/{store.runs['lr-0.1']}/metric-history", params={"key": "nope"})
    assert response.status_code == 404 and error_of(response)["param"] == "key"
    assert http.get("/runs/not-a-run-id").status_code == 400


def test_run_and_metric_history(http: httpx.Client, store: Store) -> None:
    run_id = store.runs["lr-0.1"]
    run = http.get(f"/runs/{run_id}").json()
    assert run["experiment_name"] == "sweep"
    assert run["data"]["params"] == {"lr": "0.1", "layers": "2"}
    history = http.get(f"/runs/{run_id}/metric-history", params={"key": "loss"}).json()["history"]
    assert [m["step"] for m in history] == list(range(10))


def test_artifacts_list_download_and_preview(http: httpx.Client, store: Store) -> None:
    run_id = store.runs["lr-0.01"]
    files = http.get(f"/runs/{run_id}/artifacts").json()["files"]
    assert {(f["path"], f["is_dir"]) for f in files} == {("configs", True), ("notes.txt", False)}
    inside = http.get(f"/runs/{run_id}/artifacts", params={"path": "configs"}).json()["files"]
    assert [f["path"] for f in inside] == ["configs/config.json"]
    download = http.get(f"/runs/{run_id}/artifacts/file", params={"path": "notes.txt"})
    assert download.text == "notes of run 1\n"
    assert "attachment" in download.headers["content-disposition"]
    preview = http.get(f"/runs/{run_id}/artifacts/preview", params={"path": "configs/config.json"})
    assert preview.json()["kind"] == "json"
    assert preview.json()["text"] == '{\n  "lr": 0.01,\n  "i": 1\n}'


BAD_ARTIFACT_PATHS = [
    ("artifacts/file", "../../../../etc/passwd", 400),
    ("artifacts/file", "configs", 400),
    ("artifacts/file", "missing.txt", 404),
    ("artifacts/preview", "/etc/passwd", 400),
    ("artifacts", "notes.txt", 400),
    ("artifacts", "nowhere", 404),
]


@pytest.mark.parametrize(("route", "path", "status"), BAD_ARTIFACT_PATHS)
def test_bad_artifact_paths_are_refused(
    http: httpx.Client, store: Store, route: str, path: str, status: int
) -> None:
    response = http.get(f"/runs/{store.runs['lr-0.1']}/{route}", params={"path": path})
    assert response.status_code == status
    assert error_of(response)["message"]
    assert error_of(response)["param"] == "path"


def test_version_page_has_the_package_card(http: httpx.Client, store: Store) -> None:
    version = http.get("/registered-models/echo/versions/1").json()
    assert version["aliases"] == ["champion"]
    assert version["run_id"] == store.runs["echo-v1"]
    card = version["package"]
    assert card["flavor"] == "python" and card["task"] == "llm/v1/chat"
    assert "messages" in card["signature"]
    assert '"hi"' in card["input_example"]
    assert card["size_bytes"] > 0
    logged = http.get(f"/runs/{store.runs['echo-v2']}/logged-models/model").json()
    assert [(v["name"], v["version"]) for v in logged["versions"]] == [("echo", 2)]
    assert logged["package"]["flavor"] == "python"


def test_aliases_and_descriptions_are_written_through_the_client(
    http: httpx.Client, store: Store
) -> None:
    client = TrackingClient(store.uri)
    answer = http.put("/registered-models/echo/aliases/staging", json={"version": 2})
    assert answer.status_code == 200 and answer.json()["aliases"]["staging"] == 2
    assert client.get_model_version_by_alias("echo", "staging").version == 2
    assert http.delete("/registered-models/echo/aliases/staging").status_code == 200
    assert "staging" not in client.get_registered_model("echo").aliases
    assert http.patch("/registered-models/echo", json={"description": "echoes"}).status_code == 200
    assert client.get_registered_model("echo").description == "echoes"
    http.patch("/registered-models/echo/versions/2", json={"description": "the second"})
    assert client.get_model_version("echo", 2).description == "the second"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("PUT", "/registered-models/echo/aliases/bad alias", {"version": 1}, 400, "alias"),
        ("PUT", "/registered-models/echo/aliases/x", {"version": 42}, 404, "version"),
        ("PUT", "/registered-models/echo/aliases/x", {}, 400, "version"),
        ("PUT", "/registered-models/echo/aliases/x", {"version": [1]}, 400, "version"),
        ("PUT", "/registered-models/echo/aliases/x", {"version": True}, 400, "version"),
        ("PUT", "/registered-models/echo/aliases/x", {"version": "²"}, 400, "version"),
        ("PUT", "/registered-models/echo/aliases/x", {"version": 2**63}, 400, "version"),
        ("PATCH", "/registered-models/echo", {"description": 3}, 400, "description"),
        ("PATCH", "/registered-models/echo", {"description": "x" * 6000}, 400, "description"),
        ("DELETE", "/registered-models/echo/aliases/never-set", None, 404, "alias"),
        ("PUT", "/registered-models/ghost/aliases/x", {"version": 1}, 404, "ghost"),
    ],
)
def test_bad_writes_get_the_clients_errors(
    http: httpx.Client, method: str, path: str, body: dict | None, status: int, words: str
) -> None:
    response = http.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert words in error_of(response)["message"].lower() + str(error_of(response)["param"])


def test_a_body_that_is_not_json_is_a_400(http: httpx.Client) -> None:
    response = http.patch(
        "/registered-models/echo",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


def test_the_api_is_documented(ui_server: Running) -> None:
    paths = httpx.get(f"{ui_server.url}/openapi.json").json()["paths"]
    assert "/ui/api/experiments/{experiment_id}/runs" in paths
    assert "/ui/api/registered-models/{name}/aliases/{alias}" in paths
    assert "422" not in paths["/ui/api/registered-models/{name}"]["patch"]["responses"]


def test_the_page_and_its_assets_ship_in_the_package(ui_server: Running) -> None:
    page = httpx.get(ui_server.ui())
    assert page.status_code == 200 and "<main" in page.text
    for asset in ("app.js", "chat.js", "style.css", "vendor/chart.umd.min.js"):
        assert httpx.get(f"{ui_server.url}/ui/static/{asset}").status_code == 200, asset
    assert httpx.get(ui_server.url, follow_redirects=False).headers["location"] == "/ui/"


def test_an_experiment_id_that_is_not_ascii_digits_is_a_400(http: httpx.Client) -> None:
    for bad in ("²", "9" * 30, "-1"):
        response = http.get(f"/experiments/{bad}/runs")
        assert response.status_code == 400, (bad, response.text)
        assert error_of(response)["param"] == "experiment_id"


def test_the_package_card_reads_no_file_outside_the_package(
    http: httpx.Client, store: Store, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not show")
    package = Path(TrackingClient(store.uri).get_model_version("echo", 1).storage_location)
    manifest = package / "modelport.yaml"
    original = manifest.read_text()
    try:
        data = yaml.safe_load(original)
        data["requirements"] = str(secret)
        data["input_example"] = "../" * 12 + str(secret).lstrip("/")
        manifest.write_text(yaml.safe_dump(data))
        card = http.get("/registered-models/echo/versions/1").json()["package"]
        assert card["requirements"] is None and card["input_example"] is None
        manifest.write_bytes(b"flavor: \xff\xfe")
        card = http.get("/registered-models/echo/versions/1").json()["package"]
        assert "manifest" in card["error"]
    finally:
        manifest.write_text(original)


def test_modelport_ui_with_an_api_key(store: Store, start_app: Callable[[Any], Running]) -> None:
    running = start_app(create_ui_app(store.uri, api_key="sesame"))
    assert httpx.get(running.ui()).status_code == 200
    assert httpx.get(f"{running.url}/ui/api/experiments").status_code == 401
    answer = httpx.get(
        f"{running.url}/ui/api/experiments", headers={"Authorization": "Bearer sesame"}
    )
    assert answer.status_code == 200


def test_the_api_reads_artifacts_kept_in_object_storage(
    s3_root: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_app: Callable[[Any], Running],
) -> None:
    monkeypatch.setenv("MODELPORT_ARTIFACT_ROOT", s3_root)
    remote = fill_store(tmp_path)
    run = TrackingClient(remote.uri).get_run(remote.runs["lr-0.01"])
    assert run.info.artifact_uri.startswith(s3_root)
    running = start_app(create_ui_app(remote.uri))
    with httpx.Client(base_url=f"{running.url}/ui/api", timeout=30) as http:
        # The package card reads the manifest and small files only: nothing is downloaded.
        test_version_page_has_the_package_card(http, remote)
        assert not (tmp_path / "cache" / "objects").exists()
        test_artifacts_list_download_and_preview(http, remote)
        for route, path, status in BAD_ARTIFACT_PATHS:
            test_bad_artifact_paths_are_refused(http, remote, route, path, status)
