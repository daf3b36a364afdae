"""Model URIs: local paths, file://, and schemes registered by other parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import NotFoundError, PackageError
from modelport.package import uri as uri_module
from modelport.package.uri import register_uri_scheme, resolve_model_uri


def test_a_relative_and_an_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()

    assert resolve_model_uri("m") == Path("m")
    assert resolve_model_uri(str(tmp_path / "m")) == tmp_path / "m"
    assert resolve_model_uri(tmp_path / "m") == tmp_path / "m"


def test_a_file_uri_with_escaped_characters(tmp_path: Path) -> None:
    (tmp_path / "my model").mkdir()

    resolved = resolve_model_uri((tmp_path / "my model").as_uri())

    assert resolved == tmp_path / "my model"
    assert "%20" in (tmp_path / "my model").as_uri()


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m").mkdir()

    assert resolve_model_uri("~/m") == tmp_path / "m"


def test_a_missing_path_is_not_found_naming_the_model_param() -> None:
    with pytest.raises(NotFoundError) as caught:
        resolve_model_uri("nowhere")

    assert caught.value.param == "model"
    assert caught.value.status_code == 404


@pytest.mark.parametrize("bad", ["", "  ", None, 3])
def test_an_empty_or_non_string_uri_is_refused(bad: object) -> None:
    with pytest.raises(PackageError, match="must be a non-empty string"):
        resolve_model_uri(bad)  # type: ignore[arg-type]


def test_an_unknown_scheme_lists_the_accepted_ones() -> None:
    with pytest.raises(PackageError) as caught:
        resolve_model_uri("hf://org/model")

    assert "Unsupported model URI scheme 'hf:'" in caught.value.message
    assert "a local path, file://" in caught.value.message


def test_a_registered_scheme_resolves_through_its_resolver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uri_module, "_resolvers", dict(uri_module._resolvers))
    (tmp_path / "store" / "abc").mkdir(parents=True)
    register_uri_scheme("demo", lambda uri: tmp_path / "store" / uri.split("/")[-1])

    assert resolve_model_uri("demo:/abc") == tmp_path / "store" / "abc"
    with pytest.raises(NotFoundError):
        resolve_model_uri("demo:/zzz")


def test_a_windows_drive_letter_is_a_path_not_a_scheme() -> None:
    with pytest.raises(NotFoundError):
        resolve_model_uri("C:/models/m")
