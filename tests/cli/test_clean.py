"""``modelport clean PATH``: list and remove the temporary folders that killed saves left."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelport.cli.main import main

StartSave = Callable[[str], Any]


def saving(target: Path) -> str:
    return f"modelport.save_model({str(target)!r}, python_model=MODEL, overwrite=True)"


def temp_folders(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


@pytest.fixture
def killed_saves(tmp_path: Path, save_in_another_process: StartSave) -> list[Path]:
    """Two folders left by killed saves: ``models/.chat.tmp-*`` and ``models/team/.bot.tmp-*``."""
    models = tmp_path / "models"
    save_in_another_process(saving(models / "chat")).kill()
    [chat] = [p for p in models.iterdir() if p.name.startswith(".chat.tmp-")]
    (chat / "package" / "weights.bin").write_bytes(b"\x00" * (3 << 20))  # something to weigh
    (models / "team").mkdir()
    bot = models / "team" / chat.name.replace(".chat.", ".bot.")
    shutil.copytree(chat, bot)
    return [chat, bot]


def test_clean_lists_and_removes_the_folders_of_killed_saves_below_a_folder(
    tmp_path: Path, killed_saves: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    chat, bot = killed_saves

    code = main(["clean", "models"])
    out = capsys.readouterr().out

    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Removed 2 temporary folders left by killed saves (6.0 MB):"
    assert lines[1].split() == ["3.0", "MB", f"models/{chat.name}", "(save", "of", "models/chat)"]
    assert lines[2].split() == [
        "3.0", "MB", f"models/team/{bot.name}", "(save", "of", "models/team/bot)"
    ]  # fmt: skip
    assert temp_folders(tmp_path / "models") == []
    assert temp_folders(tmp_path / "models" / "team") == []


def test_clean_dry_run_lists_and_removes_nothing(
    tmp_path: Path, killed_saves: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["clean", "models", "--dry-run"])
    out = capsys.readouterr().out

    assert code == 0
    assert out.splitlines()[0] == (
        "Would remove 2 temporary folders left by killed saves (6.0 MB); nothing removed (--dry-run):"
    )
    assert all(path.is_dir() for path in killed_saves)


def test_clean_json_says_what_was_found_and_removed(
    tmp_path: Path, killed_saves: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clean", str(tmp_path / "models"), "--json"]) == 0

    data = json.loads(capsys.readouterr().out)
    assert [(d["path"], d["target"], d["state"], d["removed"]) for d in data] == [
        (str(killed_saves[0]), str(tmp_path / "models" / "chat"), "stale", True),
        (str(killed_saves[1]), str(tmp_path / "models" / "team" / "bot"), "stale", True),
    ]
    assert all(d["size_bytes"] >= 3 << 20 for d in data)


def test_clean_of_a_package_looks_beside_it(
    tmp_path: Path, killed_saves: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # a first save of the same target completes: a package now stands beside the killed save
    chat = tmp_path / "models" / "chat"
    shutil.copytree(killed_saves[0] / "package", chat)
    (chat / "modelport.yaml").write_text("format_version: 1\nflavor: python\n")

    assert main(["clean", "models/chat"]) == 0

    assert "Removed 1 temporary folder left by killed saves" in capsys.readouterr().out
    assert temp_folders(tmp_path / "models") == []
    assert killed_saves[1].is_dir()  # not beside models/chat


def test_clean_of_one_temporary_folder_removes_just_that_one(
    tmp_path: Path, killed_saves: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    chat, bot = killed_saves

    assert main(["clean", f"models/team/{bot.name}"]) == 0

    assert f"models/team/{bot.name}  (save of models/team/bot)" in capsys.readouterr().out
    assert not bot.exists() and chat.is_dir()


def test_clean_leaves_a_running_save_alone(
    tmp_path: Path, save_in_another_process: StartSave, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    child = save_in_another_process(saving(models / "chat"))
    running = temp_folders(models)

    assert main(["clean", "models"]) == 0
    out = capsys.readouterr().out

    assert out.splitlines()[0] == "No temporary folders of killed saves under models."
    assert f"Left alone: models/{running[0]} (a save running in process {child.process.pid}" in out
    assert temp_folders(models) == running
    child.finish()
    assert temp_folders(models) == []


def test_clean_with_nothing_to_clean_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models").mkdir()

    assert main(["clean", "models"]) == 0
    assert capsys.readouterr().out == "No temporary folders of killed saves under models.\n"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nowhere", "error: No folder at 'nowhere'"),
        ("a-file", "error: 'a-file' is a file; give the folder that holds the packages"),
    ],
)
def test_clean_of_a_bad_path_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("x")

    code = main(["clean", path])
    err = capsys.readouterr().err

    assert code == 1
    assert err.startswith(message) and err.count("\n") == 1
