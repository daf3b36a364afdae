"""save_model: what a package holds, atomic writes, and the arguments it refuses."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelport
from modelport import ChatModel, ColSpec, Context, PythonModel, Schema, Signature
from modelport.errors import AlreadyExistsError, NotFoundError, PackageError
from modelport.flavors.python import UnsafePickleWarning
from modelport.package.manifest import directory_size
from modelport.package.save import read_input_example
from modelport.types import ChatCompletionResponse

ECHO_CODE = """
from modelport import ChatModel, set_model
from modelport.types import ChatCompletionResponse


class Echo(ChatModel):
    def predict(self, context, messages, params):
        return ChatCompletionResponse(
            model="echo",
            choices=[{"index": 0, "message": {"role": "assistant", "content": messages[-1].text}}],
        )


set_model(Echo())
"""


def reply(text: str) -> ChatCompletionResponse:
    return ChatCompletionResponse(
        choices=[{"index": 0, "message": {"role": "assistant", "content": text}}]
    )


class Echo(ChatModel):
    def predict(self, context: Context, messages: Any, params: Any) -> ChatCompletionResponse:
        return reply(messages[-1].text)


class ReturnsDict(ChatModel):
    def predict(self, context: Context, messages: Any, params: Any) -> Any:
        return {"choices": [{"message": {"role": "assistant", "content": "hi"}}]}


class LoadFails(ChatModel):
    def load_context(self, context: Context) -> None:
        raise FileNotFoundError("weights.bin")

    def predict(self, context: Context, messages: Any, params: Any) -> Any:
        return reply("never")


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def echo_code(tmp_path: Path) -> Path:
    path = tmp_path / "echo_model.py"
    path.write_text(ECHO_CODE)
    return path


# --- atomic saves -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "words"),
    [
        (ReturnsDict(), "ReturnsDict.predict() must return a ChatCompletionResponse, got dict"),
        (LoadFails(), "load_context() of LoadFails failed at save time: FileNotFoundError"),
    ],
)
def test_a_failing_save_leaves_nothing_behind(tmp_path: Path, model: Any, words: str) -> None:
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(PackageError) as caught:
        modelport.save_model(out / "pkg", python_model=model)

    assert words in caught.value.message
    assert leftovers(out) == []


def test_a_failing_save_of_a_models_from_code_file_leaves_nothing(tmp_path: Path) -> None:
    code = tmp_path / "bad.py"
    code.write_text(ECHO_CODE.replace("messages[-1].text", "1 / 0"))
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(PackageError) as caught:
        modelport.save_model(out / "pkg", python_model=code)

    assert caught.value.message == (
        "Echo.predict() failed on the input example at save time: "
        "ZeroDivisionError('division by zero')"
    )
    assert leftovers(out) == []


def test_a_python_model_failing_on_its_example_saves_without_outputs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Picky(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            raise KeyError("text")

    manifest = modelport.save_model(
        tmp_path / "pkg", python_model=Picky(), input_example={"prompt": "hi"}
    )

    assert manifest.signature is not None
    assert manifest.signature.inputs is not None and manifest.signature.outputs is None
    assert "predict() on the input example failed (KeyError('text'))" in caplog.text


def test_an_existing_target_is_refused_unless_overwrite(tmp_path: Path, echo_code: Path) -> None:
    target = tmp_path / "pkg"
    first = modelport.save_model(target, python_model=echo_code)

    with pytest.raises(AlreadyExistsError, match="already exists; pass overwrite=True"):
        modelport.save_model(target, python_model=echo_code)
    assert modelport.load_model(target).metadata.model_uuid == first.model_uuid

    second = modelport.save_model(target, python_model=echo_code, overwrite=True)

    assert second.model_uuid != first.model_uuid
    assert modelport.load_model(target).metadata.model_uuid == second.model_uuid
    assert leftovers(tmp_path) == ["echo_model.py", "pkg"]


def test_a_failed_overwrite_keeps_the_old_package(tmp_path: Path, echo_code: Path) -> None:
    target = tmp_path / "pkg"
    first = modelport.save_model(target, python_model=echo_code)

    with pytest.raises(PackageError):
        modelport.save_model(target, python_model=ReturnsDict(), overwrite=True)

    assert modelport.load_model(target).metadata.model_uuid == first.model_uuid
    assert leftovers(tmp_path) == ["echo_model.py", "pkg"]


def test_a_file_in_the_way_is_refused(tmp_path: Path, echo_code: Path) -> None:
    with pytest.raises(AlreadyExistsError, match="is not a directory"):
        modelport.save_model(echo_code, python_model=echo_code, overwrite=True)


# --- saves killed midway ---------------------------------------------------------------------

StartSave = Callable[[str], Any]


def temp_folders(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(".") and ".tmp-" in p.name)


def saving(target: Path, artifact: Path | None = None) -> str:
    """The child's code: an overwriting save of MODEL at ``target``, with an artifact."""
    artifacts = {"weights": str(artifact)} if artifact is not None else None
    return (
        f"modelport.save_model({str(target)!r}, python_model=MODEL, artifacts={artifacts!r}, "
        "metadata={'by': 'the child'}, overwrite=True)"
    )


def aged(path: Path, seconds: float) -> Path:
    """Make ``path`` and everything in it look untouched for ``seconds``."""
    when = time.time() - seconds
    for item in [*path.rglob("*"), path]:
        os.utime(item, (when, when), follow_symlinks=False)
    return path


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"\x00" * (4 << 20))
    return path


def test_the_next_save_removes_the_temporary_folder_of_a_killed_save(
    tmp_path: Path, echo_code: Path, weights: Path, save_in_another_process: StartSave
) -> None:
    models = tmp_path / "models"
    child = save_in_another_process(saving(models / "pkg", weights))
    [left] = temp_folders(models)
    child.kill()
    assert directory_size(left) >= 4 << 20  # SIGKILL: no finally ran, the folder stays

    modelport.save_model(models / "pkg", python_model=echo_code)

    assert leftovers(models) == ["pkg"]


def test_loading_removes_what_a_killed_overwrite_left(
    tmp_path: Path, echo_code: Path, weights: Path, save_in_another_process: StartSave
) -> None:
    models = tmp_path / "models"
    first = modelport.save_model(models / "pkg", python_model=echo_code)
    save_in_another_process(saving(models / "pkg", weights)).kill()
    assert len(temp_folders(models)) == 1

    assert modelport.load_model(models / "pkg").metadata.model_uuid == first.model_uuid
    assert leftovers(models) == ["pkg"]


HOLD_AT_THE_FINAL_RENAME = """
import os
import time
from pathlib import Path

ready = Path(os.environ.pop("MODELPORT_TEST_SAVE_READY"))  # the rename waits, not the model
real_rename = Path.rename


def rename(self, destination):
    if Path(destination) == Path({target!r}):
        ready.write_text("renaming")
        time.sleep(600)
    return real_rename(self, destination)


Path.rename = rename
"""


def test_a_save_killed_after_moving_the_old_package_aside_gets_it_back(
    tmp_path: Path, echo_code: Path, save_in_another_process: StartSave
) -> None:
    models = tmp_path / "models"
    first = modelport.save_model(models / "pkg", python_model=echo_code)
    hold = HOLD_AT_THE_FINAL_RENAME.format(target=str(models / "pkg"))
    save_in_another_process(hold + saving(models / "pkg")).kill()
    assert not (models / "pkg").exists()  # killed between moving the old one out and the new in

    assert modelport.load_model(models / "pkg").metadata.model_uuid == first.model_uuid
    assert leftovers(models) == ["pkg"]


def test_an_old_package_that_cannot_be_put_back_is_kept(
    tmp_path: Path,
    echo_code: Path,
    save_in_another_process: StartSave,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    models = tmp_path / "models"
    first = modelport.save_model(models / "pkg", python_model=echo_code)
    hold = HOLD_AT_THE_FINAL_RENAME.format(target=str(models / "pkg"))
    save_in_another_process(hold + saving(models / "pkg")).kill()
    real_rename = Path.rename

    def rename(self: Path, destination: Any) -> Path:
        if Path(destination) == models / "pkg":
            raise PermissionError("read-only")
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(NotFoundError):
        modelport.load_model(models / "pkg")
    [kept] = temp_folders(models)
    assert (kept / "old" / "modelport.yaml").is_file()
    monkeypatch.undo()

    assert modelport.load_model(models / "pkg").metadata.model_uuid == first.model_uuid
    assert leftovers(models) == ["pkg"]


def test_a_save_running_in_another_process_is_left_alone(
    tmp_path: Path, echo_code: Path, save_in_another_process: StartSave
) -> None:
    models = tmp_path / "models"
    child = save_in_another_process(saving(models / "pkg"))
    running = temp_folders(models)

    mine = modelport.save_model(models / "pkg", python_model=echo_code)
    assert modelport.load_model(models / "pkg").metadata.model_uuid == mine.model_uuid
    assert temp_folders(models) == running

    child.finish()  # its save went on undisturbed and replaced mine
    assert modelport.load_model(models / "pkg").metadata.metadata == {"by": "the child"}
    assert leftovers(models) == ["pkg"]


def test_a_temporary_folder_without_a_lock_is_removed_once_untouched_for_an_hour(
    tmp_path: Path, echo_code: Path
) -> None:
    # such folders come from a modelport that did not lock, or a save killed before it locked
    models = tmp_path / "models"
    (models / ".pkg.tmp-0123abcd" / "artifacts").mkdir(parents=True)
    (models / ".pkg.tmp-0123abcd" / "artifacts" / "w.bin").write_bytes(b"w")
    aged(models / ".pkg.tmp-0123abcd", 2 * 3600)
    (models / ".pkg.tmp-4567cdef").mkdir()
    aged(models / ".pkg.tmp-4567cdef", 50 * 60)

    modelport.save_model(models / "pkg", python_model=echo_code)

    assert leftovers(models) == [".pkg.tmp-4567cdef", "pkg"]


def test_a_save_removes_only_what_saves_of_its_own_target_left(
    tmp_path: Path, echo_code: Path
) -> None:
    models = tmp_path / "models"
    for name in (".other.tmp-0123abcd", ".pkg.tmp-notmine", ".pkg.tmp-0123abcd.bak"):
        (models / name).mkdir(parents=True)
        aged(models / name, 2 * 3600)

    modelport.save_model(models / "pkg", python_model=echo_code)

    assert leftovers(models) == [
        ".other.tmp-0123abcd",
        ".pkg.tmp-0123abcd.bak",
        ".pkg.tmp-notmine",
        "pkg",
    ]


def test_cleaners_and_saves_running_at_once_do_not_disturb_each_other(
    tmp_path: Path, echo_code: Path, save_in_another_process: StartSave
) -> None:
    from modelport.package.staging import remove_stale_folders

    models = tmp_path / "models"
    save_in_another_process(saving(models / "pkg")).kill()
    [left] = temp_folders(models)
    for i in range(8):  # copies of a killed save's folder: their locks are free too
        shutil.copytree(left, models / f".pkg.tmp-{i:08x}")
    errors: list[BaseException] = []
    removed: list[Path] = []

    def clean() -> None:
        for _ in range(10):
            removed.extend(f.path for f in remove_stale_folders(models))

    def save(n: int) -> None:
        for i in range(4):
            modelport.save_model(models / f"new-{n}-{i}", python_model=echo_code)

    def guarded(work: Callable[..., None], *args: Any) -> Callable[[], None]:
        def run() -> None:
            try:
                work(*args)
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(clean)) for _ in range(4)]
    threads += [threading.Thread(target=guarded(save, n)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(removed) == sorted([left, *(models / f".pkg.tmp-{i:08x}" for i in range(8))])
    assert temp_folders(models) == []
    for n in range(2):
        for i in range(4):
            assert modelport.load_model(models / f"new-{n}-{i}").task == "llm/v1/chat"


# --- what the package holds -------------------------------------------------------------------


def test_models_from_code_package_holds_its_files(tmp_path: Path, echo_code: Path) -> None:
    manifest = modelport.save_model(tmp_path / "pkg", python_model=echo_code)

    files = sorted(str(p.relative_to(tmp_path / "pkg")) for p in (tmp_path / "pkg").rglob("*"))
    assert files == [
        "input_example.json",
        "model_code",
        "model_code/echo_model.py",
        "modelport.yaml",
        "requirements.txt",
    ]
    assert manifest.flavor_config["code"] == "model_code/echo_model.py"
    assert "pickle" not in manifest.flavor_config


def test_chat_model_gets_the_chat_task_signature_and_default_example(
    tmp_path: Path, echo_code: Path
) -> None:
    manifest = modelport.save_model(tmp_path / "pkg", python_model=echo_code)

    assert manifest.task == "llm/v1/chat"
    assert manifest.signature is not None
    assert manifest.signature.inputs is not None
    assert manifest.signature.inputs["required"] == ["messages"]
    example, params = read_input_example(tmp_path / "pkg", manifest.input_example)
    assert example["messages"][0]["role"] == "user" and params is None


def test_chat_model_refuses_a_signature_saying_why(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="gets the llm/v1/chat signature automatically"):
        modelport.save_model(
            tmp_path / "pkg", python_model=Echo(), signature=Signature(Schema([ColSpec("string")]))
        )


def test_chat_model_runs_on_the_given_example_at_save_time(tmp_path: Path) -> None:
    seen: list[str] = []

    class Records(ChatModel):
        def predict(self, context: Context, messages: Any, params: Any) -> Any:
            seen.append(messages[-1].text)
            return reply("ok")

    modelport.save_model(
        tmp_path / "pkg",
        python_model=Records(),
        input_example={"messages": [{"role": "user", "content": "probe"}], "max_tokens": 3},
    )

    assert seen == ["probe"]


def test_a_bad_chat_example_is_refused_naming_the_field(tmp_path: Path) -> None:
    with pytest.raises(modelport.errors.InvalidRequestError) as caught:
        modelport.save_model(
            tmp_path / "pkg",
            python_model=Echo(),
            input_example={"messages": [{"role": "user", "content": "x"}], "temperature": 5},
        )

    assert caught.value.param == "temperature"
    assert not (tmp_path / "pkg").exists()


def test_artifacts_file_and_directory_and_file_uri(tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text("a b c")
    weights = tmp_path / "weights"
    (weights / "sub").mkdir(parents=True)
    (weights / "sub" / "w.bin").write_bytes(b"\x00\x01")
    seen: dict[str, Any] = {}

    class UsesArtifacts(PythonModel):
        def load_context(self, context: Context) -> None:
            seen.update(context.artifacts)
            self.vocab = Path(context.artifacts["vocab"]).read_text()
            self.weights = (Path(context.artifacts["weights"]) / "sub" / "w.bin").read_bytes()

        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            return {"vocab": self.vocab, "weights": list(self.weights)}

    manifest = modelport.save_model(
        tmp_path / "pkg",
        python_model=UsesArtifacts(),
        artifacts={"vocab": str(tmp_path / "vocab.txt"), "weights": weights.as_uri()},
        input_example={"x": 1},
    )

    assert manifest.flavor_config["artifacts"] == {
        "vocab": "artifacts/vocab/vocab.txt",
        "weights": "artifacts/weights",
    }
    # at save time the paths already point inside the package being written
    assert all(".pkg.tmp-" in path for path in seen.values())
    assert (
        tmp_path / "pkg" / "artifacts" / "weights" / "sub" / "w.bin"
    ).read_bytes() == b"\x00\x01"
    assert manifest.signature is not None
    assert manifest.signature.outputs is not None
    assert manifest.signature.outputs["properties"]["vocab"] == {"type": "string"}


@pytest.mark.parametrize(
    ("artifacts", "words"),
    [
        ({"w": "missing.bin"}, "artifact 'w': 'missing.bin' does not exist"),
        ({"w": "file:///no/such/file"}, "artifact 'w': 'file:///no/such/file' does not exist"),
        ({"a/b": "x"}, "not valid"),
        ({"": "x"}, "not valid"),
        (["w"], "artifacts must be a dict"),
        ({"w": 42}, "must be a path or URI"),
    ],
)
def test_bad_artifacts_are_refused(tmp_path: Path, artifacts: Any, words: str) -> None:
    with pytest.raises(PackageError, match=words):
        modelport.save_model(tmp_path / "pkg", python_model=Echo(), artifacts=artifacts)
    assert not (tmp_path / "pkg").exists()


@pytest.mark.parametrize("as_file", [False, True])
def test_model_config_as_dict_or_yaml_file(tmp_path: Path, as_file: bool) -> None:
    config = {"greeting": "bonjour", "limits": {"max": 3}}
    given: Any = config
    if as_file:
        given = tmp_path / "config.yaml"
        given.write_text(yaml.safe_dump(config))
    seen: list[dict[str, Any]] = []

    class Greeter(ChatModel):
        def load_context(self, context: Context) -> None:
            seen.append(context.model_config)

        def predict(self, context: Context, messages: Any, params: Any) -> Any:
            return reply(context.model_config["greeting"])

    modelport.save_model(tmp_path / "pkg", python_model=Greeter(), model_config=given)

    assert seen == [config]
    assert yaml.safe_load((tmp_path / "pkg" / "model_config.yaml").read_text()) == config


@pytest.mark.parametrize(
    ("config", "words"),
    [("nope.yaml", "is not a file"), (["a"], "must be a mapping"), ({"f": object()}, "plain")],
)
def test_bad_model_config_is_refused(tmp_path: Path, config: Any, words: str) -> None:
    with pytest.raises(PackageError, match=words):
        modelport.save_model(tmp_path / "pkg", python_model=Echo(), model_config=config)


def test_code_paths_are_copied_and_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "shouting.py").write_text("def shout(s):\n    return s.upper()\n")
    (tmp_path / "single.py").write_text("SUFFIX = '!'\n")

    class Shouter(ChatModel):
        def predict(self, context: Context, messages: Any, params: Any) -> Any:
            from helpers.shouting import shout  # type: ignore[import-not-found]
            from single import SUFFIX  # type: ignore[import-not-found]

            return reply(shout(messages[-1].text) + SUFFIX)

    manifest = modelport.save_model(
        tmp_path / "pkg", python_model=Shouter(), code_paths=[helpers, tmp_path / "single.py"]
    )

    assert (tmp_path / "pkg" / "code" / "helpers" / "shouting.py").is_file()
    assert (tmp_path / "pkg" / "code" / "single.py").is_file()
    assert manifest.flavor_config["code_paths"] == "code"

    # at load time the package's own copies are imported, not the originals
    shutil.rmtree(helpers)
    (tmp_path / "single.py").unlink()
    for module in ("helpers", "helpers.shouting", "single"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.warns(UnsafePickleWarning):
        loaded = modelport.load_model(tmp_path / "pkg")
    out = loaded.predict({"messages": [{"role": "user", "content": "hey"}]})
    assert out["choices"][0]["message"]["content"] == "HEY!"
    assert Path(sys.modules["single"].__file__ or "").parent == tmp_path / "pkg" / "code"
    monkeypatch.delitem(sys.modules, "single")
    monkeypatch.delitem(sys.modules, "helpers.shouting")


def test_a_missing_code_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="code path 'gone' does not exist"):
        modelport.save_model(tmp_path / "pkg", python_model=Echo(), code_paths=["gone"])


def test_requirements_are_inferred_from_the_code(tmp_path: Path) -> None:
    code = tmp_path / "yaml_model.py"
    code.write_text("import yaml\nimport json\n" + ECHO_CODE)

    modelport.save_model(tmp_path / "pkg", python_model=code)

    lines = (tmp_path / "pkg" / "requirements.txt").read_text().splitlines()
    assert lines[0] == f"modelport=={modelport.__version__}"
    assert f"PyYAML=={yaml.__version__}" in lines
    assert not any(line.startswith("json") for line in lines)


def test_a_pickled_model_requires_cloudpickle(tmp_path: Path) -> None:
    modelport.save_model(tmp_path / "pkg", python_model=Echo())

    lines = (tmp_path / "pkg" / "requirements.txt").read_text().splitlines()
    assert "cloudpickle" in lines and lines[0].startswith("modelport==")


def test_given_requirements_are_kept_and_modelport_added(tmp_path: Path, echo_code: Path) -> None:
    modelport.save_model(
        tmp_path / "pkg", python_model=echo_code, pip_requirements=["requests>=2", "# comment"]
    )

    lines = (tmp_path / "pkg" / "requirements.txt").read_text().splitlines()
    assert lines == [f"modelport=={modelport.__version__}", "requests>=2"]


def test_requirements_from_a_file_and_extra_requirements(tmp_path: Path, echo_code: Path) -> None:
    (tmp_path / "reqs.txt").write_text("modelport>=0.1\nnumpy\n")
    modelport.save_model(tmp_path / "a", python_model=echo_code, pip_requirements="reqs.txt")
    modelport.save_model(tmp_path / "b", python_model=echo_code, extra_pip_requirements=["rich"])

    assert (tmp_path / "a" / "requirements.txt").read_text() == "modelport>=0.1\nnumpy\n"
    assert (tmp_path / "b" / "requirements.txt").read_text().splitlines()[-1] == "rich"


def test_both_requirement_kinds_are_refused(tmp_path: Path, echo_code: Path) -> None:
    with pytest.raises(PackageError, match="not both"):
        modelport.save_model(
            tmp_path / "pkg",
            python_model=echo_code,
            pip_requirements=["a"],
            extra_pip_requirements=["b"],
        )


def test_input_example_pair_is_stored_with_its_params(tmp_path: Path) -> None:
    class Any_(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            return "ok"

    modelport.save_model(
        tmp_path / "pkg", python_model=Any_(), input_example=({"q": "hi"}, {"max_tokens": 5})
    )

    stored = json.loads((tmp_path / "pkg" / "input_example.json").read_text())
    assert stored == {"input": {"q": "hi"}, "params": {"max_tokens": 5}, "format": "json"}


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"python_model": None}, "needs python_model"),
        ({"python_model": 42}, "must be a PythonModel or ChatModel instance"),
        ({"python_model": "missing.py"}, "must be an existing .py file"),
        ({"python_model": Echo(), "metadata": ["a"]}, "metadata must be a dict"),
        ({"python_model": Echo(), "signature": {"inputs": None}}, "signature must be a Signature"),
        ({"python_model": Echo(), "input_example": (1, 2, 3)}, "tuple must be"),
        ({"python_model": Echo(), "metadata": {"a": object()}}, "metadata must hold plain values"),
        ({"python_model": Echo(), "code_paths": 5}, "code_paths must be a list of paths, got int"),
        ({"python_model": Echo(), "code_paths": "helpers"}, "code_paths must be a list"),
        ({"python_model": Echo(), "code_paths": [None]}, "code path 'None' does not exist"),
        ({"python_model": Echo(), "pip_requirements": 5}, "list of strings or a path"),
        ({"python_model": Echo(), "extra_pip_requirements": [1]}, "list of strings or a path"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(PackageError, match=words):
        modelport.save_model(tmp_path / "pkg", **kwargs)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("path", ["", "   "])
def test_an_empty_path_is_refused(path: str) -> None:
    with pytest.raises(PackageError, match="non-empty"):
        modelport.save_model(path, python_model=Echo())


def test_an_unpicklable_model_is_refused_suggesting_code(tmp_path: Path) -> None:
    import threading

    class HoldsALock(Echo):
        def __init__(self) -> None:
            self.lock = threading.Lock()

    with pytest.raises(PackageError, match=r"cannot be pickled.*save it as code"):
        modelport.save_model(tmp_path / "pkg", python_model=HoldsALock())
    assert leftovers(tmp_path) == []


def test_save_time_predict_sees_the_input_as_it_will_after_loading(tmp_path: Path) -> None:
    seen: list[Any] = []

    class Recorder(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            seen.append((model_input, params))
            return {"n": len(model_input["messages"][0])}

    request = {"messages": [{"role": "user", "content": "hi"}]}
    manifest = modelport.save_model(
        tmp_path / "pkg", python_model=Recorder(), input_example=(request, {"max_tokens": 5})
    )

    assert seen == [({"messages": [request["messages"]]}, {"max_tokens": 5})]
    assert manifest.signature is not None
    assert manifest.signature.outputs == {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
    }


def test_a_failed_final_rename_restores_the_old_package(
    tmp_path: Path, echo_code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "pkg"
    first = modelport.save_model(target, python_model=echo_code)
    real_rename = Path.rename
    failed: list[Path] = []

    def rename(self: Path, destination: Any) -> Path:
        if Path(destination) == target and not failed:  # the new package's move into place
            failed.append(self)
            raise OSError("disk full")
        return real_rename(self, destination)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(PackageError, match=r"cannot write the package '.*pkg': disk full"):
        modelport.save_model(target, python_model=echo_code, overwrite=True)
    monkeypatch.undo()

    assert modelport.load_model(target).metadata.model_uuid == first.model_uuid
    assert leftovers(tmp_path) == ["echo_model.py", "pkg"]
