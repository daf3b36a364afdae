"""``modelport runs list [--experiment NAME]`` and ``modelport runs show RUN_ID``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.cli.main import main
from modelport.tracking import TrackingClient
from modelport.tracking.state import tracking_state


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    tracking_state.close_stores()


@pytest.fixture
def runs() -> dict[str, str]:
    client = TrackingClient()
    baseline = client.create_experiment("baseline")
    tuning = client.create_experiment("tuning")
    ids = {}
    for name, experiment, acc in [("b1", baseline, 0.7), ("t1", tuning, 0.8), ("t2", tuning, 0.9)]:
        run = client.create_run(experiment, run_name=name)
        client.log_metric(run.run_id, "acc", acc)
        client.log_param(run.run_id, "lr", "0.01")
        client.set_tag(run.run_id, "team", "nlp")
        client.set_terminated(run.run_id)
        ids[name] = run.run_id
    return ids


def test_runs_of_every_experiment_are_listed(
    runs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "list"]) == 0
    out = capsys.readouterr().out
    for run_id in runs.values():
        assert run_id in out
    assert "acc=0.9" in out and "FINISHED" in out


def test_runs_are_filtered_by_experiment_and_filter(
    runs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "list", "--experiment", "tuning", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(r["info"]["run_name"] for r in data) == ["t1", "t2"]
    assert (
        main(
            [
                "runs",
                "list",
                "--filter",
                "metrics.acc > 0.75",
                "--order-by",
                "metrics.acc",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [r["info"]["run_name"] for r in data] == ["t1", "t2"]


def test_an_unknown_experiment_is_named_with_the_known_ones(
    runs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "list", "--experiment", "ghost"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: Experiment 'ghost' not found (experiments: baseline, tuning)"


def test_a_bad_filter_is_one_line_saying_what_is_accepted(
    runs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "list", "--filter", "metrics.acc >> 1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Cannot parse the filter clause") and err.count("\n") == 1


def test_a_run_is_shown_with_params_metrics_tags_models_and_artifacts(
    runs: dict[str, str], tmp_path: Path, chat_model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = TrackingClient()
    client.log_model(runs["t2"], "chat", python_model=chat_model_file)
    assert main(["runs", "show", runs["t2"]]) == 0
    out = capsys.readouterr().out
    for expected in (
        "t2",
        "tuning",
        "FINISHED",
        "lr",
        "0.01",
        "acc",
        "0.9",
        "team",
        "nlp",
        f"runs:/{runs['t2']}/chat",
        "Artifacts: chat/",
    ):
        assert expected in out
    assert main(["runs", "show", runs["t2"], "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["data"]["metrics"] == {"acc": 0.9}
    assert data["models"][0]["name"] == "chat" and data["artifacts"] == ["chat/"]


def test_an_unknown_run_is_named(runs: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "show", "f" * 32]) == 1
    assert capsys.readouterr().err.strip() == f"error: Run '{'f' * 32}' not found"
    assert main(["runs", "show", "nope"]) == 1
    assert "32 lowercase hexadecimal" in capsys.readouterr().err


@pytest.fixture
def chat_model_file(tmp_path: Path) -> Path:
    path = tmp_path / "echo_model.py"
    path.write_text(
        "from modelport import ChatModel, set_model\n"
        "from modelport.types import ChatCompletionResponse\n"
        "class Echo(ChatModel):\n"
        "    def predict(self, context, messages, params):\n"
        "        return ChatCompletionResponse(model='echo', choices=[{'index': 0, 'message': "
        "{'role': 'assistant', 'content': messages[-1].text}}])\n"
        "set_model(Echo())\n"
    )
    return path
