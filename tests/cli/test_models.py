"""``modelport models list | versions NAME | alias NAME ALIAS VERSION | register URI NAME``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelport
from modelport.cli.main import main
from modelport.tracking import TrackingClient
from modelport.tracking.state import tracking_state


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    tracking_state.close_stores()


@pytest.fixture
def package(tmp_path: Path) -> Path:
    (tmp_path / "echo_model.py").write_text(
        "from modelport import ChatModel, set_model\n"
        "from modelport.types import ChatCompletionResponse\n"
        "class Echo(ChatModel):\n"
        "    def predict(self, context, messages, params):\n"
        "        return ChatCompletionResponse(model='echo', choices=[{'index': 0, 'message': "
        "{'role': 'assistant', 'content': messages[-1].text}}])\n"
        "set_model(Echo())\n"
    )
    modelport.save_model(tmp_path / "pkg", python_model=tmp_path / "echo_model.py")
    return tmp_path / "pkg"


def test_register_list_versions_and_alias(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "register", str(package), "bot", "--description", "first"]) == 0
    assert capsys.readouterr().out.strip() == f"Registered {package} as models:/bot/1"
    assert main(["models", "register", str(package), "bot"]) == 0
    capsys.readouterr()
    assert main(["models", "alias", "bot", "production", "2"]) == 0
    assert "models:/bot@production now points to version 2" in capsys.readouterr().out

    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "bot" in out and "@production → v2" in out
    assert main(["models", "versions", "bot"]) == 0
    out = capsys.readouterr().out
    assert "first" in out and "@production" in out

    assert main(["models", "versions", "bot", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["aliases"]) for v in data] == [(1, []), (2, ["production"])]
    assert main(["models", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["aliases"] == {"production": 2}
    assert TrackingClient().get_version_by_alias("bot", "production").version == 2


def test_an_alias_can_be_removed(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = TrackingClient()
    client.register_model(package, "bot")
    client.set_alias("bot", "production", 1)
    assert main(["models", "alias", "bot", "production", "--delete", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "name": "bot",
        "alias": "production",
        "version": None,
    }
    assert client.get_registered_model("bot").aliases == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["models", "versions", "ghost"], "error: Registered model 'ghost' not found"),
        (
            ["models", "alias", "ghost", "production", "1"],
            "error: Registered model 'ghost' not found",
        ),
        (["models", "alias", "bot", "production", "9"], "error: Model 'bot' has no version 9"),
        (["models", "alias", "bot", "latest", "1"], "error: Invalid alias 'latest'"),
        (["models", "alias", "bot", "production", "one"], "error: Invalid model version 'one'"),
        (["models", "alias", "bot", "production"], "error: missing VERSION"),
        (
            ["models", "alias", "bot", "staging", "--delete"],
            "error: Model 'bot' has no alias 'staging'",
        ),
        (["models", "register", "nowhere", "bot"], "error: No model at 'nowhere'"),
    ],
)
def test_bad_input_is_one_line_naming_the_problem(
    package: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    TrackingClient().register_model(package, "bot")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_no_models_yet_says_how_to_register(capsys: pytest.CaptureFixture[str]) -> None:
    TrackingClient()
    assert main(["models", "list"]) == 0
    assert "No registered models yet" in capsys.readouterr().out


def test_reading_a_missing_store_does_not_create_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "versions", "bot"]) == 1
    assert capsys.readouterr().err.startswith(
        f"error: No tracking store at {tmp_path / 'modelport.db'}: log a run there first"
    )
    assert not (tmp_path / "modelport.db").exists()
