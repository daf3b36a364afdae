"""The manifest (modelport.yaml): every field written, read back, and bad manifests refused."""

from __future__ import annotations

import platform
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelport
from modelport.errors import PackageError
from modelport.package.manifest import FORMAT_VERSION, MANIFEST_FILE, Manifest, directory_size

STREAMING_CODE = """
from modelport import ChatModel, set_model
from modelport.types import ChatCompletionChunk, ChatCompletionResponse


class Streamer(ChatModel):
    def predict(self, context, messages, params):
        return ChatCompletionResponse(
            choices=[{"index": 0, "message": {"role": "assistant", "content": "hi"}}]
        )

    def predict_stream(self, context, messages, params):
        yield ChatCompletionChunk(choices=[{"delta": {"content": "hi"}}])


set_model(Streamer())
"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    (tmp_path / "streamer.py").write_text(STREAMING_CODE)
    modelport.save_model(
        tmp_path / "pkg", python_model=tmp_path / "streamer.py", metadata={"owner": "team-a"}
    )
    return tmp_path / "pkg"


def read_raw(package: Path) -> dict[str, Any]:
    data = yaml.safe_load((package / MANIFEST_FILE).read_text())
    assert isinstance(data, dict)
    return data


def write_raw(package: Path, data: Any) -> None:
    (package / MANIFEST_FILE).write_text(yaml.safe_dump(data))


def test_manifest_holds_every_field(package: Path) -> None:
    raw = read_raw(package)

    assert list(raw) == [
        "format_version",
        "flavor",
        "task",
        "model_uuid",
        "created",
        "python_version",
        "modelport_version",
        "streamable",
        "size_bytes",
        "requirements",
        "input_example",
        "signature",
        "metadata",
        "flavor_config",
    ]
    assert raw["format_version"] == FORMAT_VERSION
    assert (raw["flavor"], raw["task"]) == ("python", "llm/v1/chat")
    assert re.fullmatch(r"[0-9a-f]{32}", raw["model_uuid"])
    assert datetime.fromisoformat(raw["created"]).tzinfo is not None
    assert raw["python_version"] == platform.python_version()
    assert raw["modelport_version"] == modelport.__version__
    assert raw["streamable"] is True
    assert raw["requirements"] == "requirements.txt"
    assert raw["input_example"] == "input_example.json"
    assert set(raw["signature"]) == {"inputs", "outputs", "params"}
    assert raw["metadata"] == {"owner": "team-a"}
    assert raw["flavor_config"]["code"] == "model_code/streamer.py"


def test_size_is_the_package_size_without_the_manifest(package: Path) -> None:
    raw = read_raw(package)
    without_manifest = directory_size(package) - (package / MANIFEST_FILE).stat().st_size

    assert raw["size_bytes"] == without_manifest > 0


def test_the_yaml_has_no_anchors(package: Path) -> None:
    text = (package / MANIFEST_FILE).read_text()

    assert "&id" not in text and "*id" not in text


def test_read_gives_back_what_was_written(package: Path) -> None:
    manifest = Manifest.read(package)

    assert manifest.to_dict() == read_raw(package)
    assert manifest.signature is not None and manifest.signature.inputs is not None


def test_a_newer_format_version_is_refused_clearly(package: Path) -> None:
    raw = read_raw(package)
    write_raw(package, {**raw, "format_version": FORMAT_VERSION + 1})

    with pytest.raises(PackageError) as caught:
        modelport.load_model(package)

    assert (
        f"has format version {FORMAT_VERSION + 1}, newer than this modelport understands "
        f"({FORMAT_VERSION}); upgrade modelport to load it"
    ) in caught.value.message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"format_version": None}, "no valid 'format_version'"),
        ({"format_version": "one"}, "no valid 'format_version'"),
        ({"format_version": True}, "no valid 'format_version'"),
        ({"flavor": None, "drop": "flavor"}, "has no 'flavor' field"),
        ({"flavor": ["python"]}, "is malformed at 'flavor': Input should be a valid string"),
        ({"size_bytes": "big"}, "is malformed at 'size_bytes': Input should be a valid integer"),
        ({"size_bytes": -1}, "is malformed at 'size_bytes': Input should be greater than"),
        ({"streamable": "maybe"}, "is malformed at 'streamable': Input should be a valid boolean"),
        ({"metadata": [1]}, "is malformed at 'metadata': Input should be a valid dictionary"),
        ({"signature": "text"}, "is malformed at 'signature': a signature is a mapping"),
        ({"signature": {"inputs": [1, 2]}}, "is malformed at 'signature'"),
    ],
)
def test_malformed_manifests_are_refused(package: Path, change: dict[str, Any], words: str) -> None:
    raw = read_raw(package)
    drop = change.pop("drop", None)
    raw.update(change)
    if drop:
        del raw[drop]
    write_raw(package, raw)

    with pytest.raises(PackageError, match=words):
        Manifest.read(package)


def test_a_manifest_that_is_not_yaml_is_refused(package: Path) -> None:
    (package / MANIFEST_FILE).write_text("flavor: [unclosed\n")

    with pytest.raises(PackageError, match="is not valid YAML"):
        Manifest.read(package)


def test_a_manifest_that_is_a_list_is_refused(package: Path) -> None:
    write_raw(package, ["flavor"])

    with pytest.raises(PackageError, match="is not a modelport manifest"):
        Manifest.read(package)


def test_an_unknown_flavor_lists_the_installed_ones(package: Path) -> None:
    write_raw(package, {**read_raw(package), "flavor": "onnx"})

    with pytest.raises(PackageError, match=r"Unknown flavor 'onnx'; installed flavors: .*python"):
        modelport.load_model(package)


def test_each_save_gets_its_own_uuid(tmp_path: Path, package: Path) -> None:
    other = modelport.save_model(tmp_path / "other", python_model=tmp_path / "streamer.py")

    assert other.model_uuid != read_raw(package)["model_uuid"]


@pytest.mark.parametrize(("written", "read"), [("false", False), ("true", True), (False, False)])
def test_streamable_reads_as_written(package: Path, written: Any, read: bool) -> None:
    write_raw(package, {**read_raw(package), "streamable": written})

    assert Manifest.read(package).streamable is read


def test_fields_a_newer_modelport_added_are_ignored(package: Path) -> None:
    write_raw(package, {**read_raw(package), "added_later": {"x": 1}})

    assert Manifest.read(package).flavor == "python"


def test_fields_that_were_not_recorded_stay_unknown(package: Path) -> None:
    raw = read_raw(package)
    for name in ("created", "python_version", "modelport_version", "model_uuid", "metadata"):
        del raw[name]
    write_raw(package, raw)

    manifest = Manifest.read(package)

    assert (manifest.created, manifest.python_version, manifest.modelport_version) == ("", "", "")
    assert manifest.metadata == {} and re.fullmatch(r"[0-9a-f]{32}", manifest.model_uuid)


def test_hand_edited_dates_and_versions_read_as_text(package: Path) -> None:
    text = (package / MANIFEST_FILE).read_text()
    raw = read_raw(package)
    text = text.replace(f"created: '{raw['created']}'", "created: 2024-01-01T00:00:00Z")
    text = text.replace(f"python_version: {raw['python_version']}", "python_version: 3.10")
    (package / MANIFEST_FILE).write_text(text)

    manifest = Manifest.read(package)

    assert manifest.created.startswith("2024-01-01") and manifest.python_version == "3.1"
