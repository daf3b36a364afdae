"""``modelport info``: the manifest and signature, readably or as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import modelport
from modelport import ColSpec, ParamSchema, ParamSpec, PythonModel, Schema, Signature
from modelport.cli.main import main

CODE = """
from modelport import PythonModel, set_model


class Candidates(PythonModel):
    def predict(self, context, model_input, params=None):
        return {"candidates": [model_input["prompt"][0]]}


set_model(Candidates())
"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    (tmp_path / "candidates.py").write_text(CODE)
    signature = Signature(
        inputs=Schema([ColSpec("string", "prompt")]),
        outputs=Schema([ColSpec("string", "candidates")]),
        params=ParamSchema([ParamSpec("temperature", "float", 0.1)]),
    )
    modelport.save_model(
        tmp_path / "pkg",
        python_model=tmp_path / "candidates.py",
        signature=signature,
        metadata={"owner": "ml-team"},
    )
    return tmp_path / "pkg"


def test_info_prints_the_manifest_and_signature(
    capsys: pytest.CaptureFixture[str], package: Path
) -> None:
    manifest = modelport.load_model(package).metadata

    code = main(["info", "-m", str(package)])
    out = capsys.readouterr().out

    assert code == 0
    lines = [line.rstrip() for line in out.splitlines()]
    rows = {line.split("  ")[0]: line.split("  ")[-1].strip() for line in lines if "  " in line}
    assert rows["flavor"] == "python"
    assert rows["task"] == "-"
    assert rows["model uuid"] == manifest.model_uuid
    assert rows["format version"] == "1"
    assert rows["streamable"] == "no (streams as one chunk)"
    assert rows["metadata.owner"] == "ml-team"
    assert rows["size"].endswith(" B") or rows["size"].endswith(" KB")
    assert "signature" in lines
    assert "  ['prompt': string (required)]" in lines
    assert "  ['temperature': double (default: 0.1)]" in lines


def test_info_json_is_the_manifest(capsys: pytest.CaptureFixture[str], package: Path) -> None:
    code = main(["info", "-m", package.as_uri(), "--json"])

    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data == modelport.load_model(package).metadata.to_dict()


def test_info_on_a_pickled_model_does_not_unpickle_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    class Tiny(PythonModel):
        def predict(self, context: object, model_input: object, params: object = None) -> object:
            return model_input

    modelport.save_model(tmp_path / "tiny", python_model=Tiny())

    # no UnsafePickleWarning (warnings are errors here): info only reads the manifest
    assert main(["info", "-m", str(tmp_path / "tiny")]) == 0
    assert "python" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("nowhere", "error: No model at 'nowhere'"),
        (".", "is not a modelport package: it has no modelport.yaml"),
    ],
)
def test_info_on_a_bad_uri_is_one_line(
    capsys: pytest.CaptureFixture[str], uri: str, message: str
) -> None:
    code = main(["info", "-m", uri])
    err = capsys.readouterr().err

    assert code == 1
    assert message in err and err.count("\n") == 1


def test_info_on_a_corrupt_manifest_is_one_line(
    capsys: pytest.CaptureFixture[str], package: Path
) -> None:
    (package / "modelport.yaml").write_text("format_version: 1\nflavor: python\nsize_bytes: big\n")

    code = main(["info", "-m", str(package)])

    assert code == 1
    assert "is malformed" in capsys.readouterr().err
