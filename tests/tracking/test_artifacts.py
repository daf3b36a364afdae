"""The local artifact store refuses every path that would leave the run's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelport.errors import AlreadyExistsError, InvalidRequestError, NotFoundError
from modelport.tracking.artifacts import LocalArtifactRepository, check_artifact_path


@pytest.fixture
def repository(tmp_path: Path) -> LocalArtifactRepository:
    return LocalArtifactRepository(tmp_path / "run" / "artifacts")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("bb")
    return folder


def test_files_and_folders_are_copied_in_and_listed(
    repository: LocalArtifactRepository, source: Path
) -> None:
    assert repository.log_artifact(source / "a.txt") == "a.txt"
    assert repository.log_artifact(source / "a.txt", "notes/day1") == "notes/day1/a.txt"
    repository.log_artifacts(source, "data")
    assert [(f.path, f.is_dir, f.file_size) for f in repository.list_artifacts()] == [
        ("a.txt", False, 1),
        ("data", True, None),
        ("notes", True, None),
    ]
    assert [f.path for f in repository.list_artifacts("data")] == ["data/a.txt", "data/sub"]
    assert repository.path_of("data/sub/b.txt").read_text() == "bb"


@pytest.mark.parametrize(
    "path", ["../escape", "a/../../escape", "/etc", "~/x", "C:/x", "a\\b", "..", "a/.."]
)
def test_paths_escaping_the_run_folder_are_refused(
    repository: LocalArtifactRepository, source: Path, path: str
) -> None:
    with pytest.raises(InvalidRequestError, match="relative to the run's artifact folder"):
        repository.log_artifact(source / "a.txt", path)
    with pytest.raises(InvalidRequestError, match=r"no '..' segments"):
        repository.path_of(path)


def test_a_symlink_leading_out_of_the_run_folder_is_refused(
    repository: LocalArtifactRepository, source: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    repository.root.mkdir(parents=True)
    os.symlink(outside, repository.root / "link")
    with pytest.raises(InvalidRequestError, match="through a symbolic link"):
        repository.path_of("link/secret.txt")
    with pytest.raises(InvalidRequestError, match="through a symbolic link"):
        repository.log_artifact(source / "a.txt", "link")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_normalised_paths_stay_inside(repository: LocalArtifactRepository) -> None:
    assert check_artifact_path("./a//b/") == "a/b"
    assert check_artifact_path(None) == ""


def test_missing_sources_and_artifacts_say_what_is_missing(
    repository: LocalArtifactRepository, tmp_path: Path, source: Path
) -> None:
    with pytest.raises(InvalidRequestError, match="needs an existing file"):
        repository.log_artifact(tmp_path / "nope.txt")
    with pytest.raises(InvalidRequestError, match="needs an existing folder"):
        repository.log_artifacts(tmp_path / "nope")
    with pytest.raises(NotFoundError, match="No artifact 'model'"):
        repository.path_of("model")
    repository.log_artifact(source / "a.txt")
    with pytest.raises(AlreadyExistsError, match=r"'a.txt' already exists"):
        repository.new_path("a.txt")


def test_a_folder_copied_onto_a_link_out_of_the_run_folder_is_refused(
    repository: LocalArtifactRepository, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repository.root.mkdir(parents=True)
    os.symlink(outside, repository.root / "link")
    source = tmp_path / "incoming"
    (source / "link").mkdir(parents=True)
    (source / "link" / "planted.txt").write_text("x")
    with pytest.raises(InvalidRequestError, match="through a symbolic link"):
        repository.log_artifacts(source)
    assert list(outside.iterdir()) == []
