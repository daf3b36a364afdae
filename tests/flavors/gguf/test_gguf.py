"""The gguf flavor: a .gguf file saved as a package, loaded as a chat model on llama.cpp."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import modelport
from modelport.errors import InvalidRequestError, PackageError
from modelport.package.manifest import Manifest

pytest.importorskip("llama_cpp")

import modelport.gguf

QUESTION = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}


def test_a_saved_file_loads_as_a_chat_model(demo_gguf: Path, tmp_path: Path) -> None:
    manifest = modelport.gguf.save_model(tmp_path / "chat", gguf_file=demo_gguf, progress=False)
    assert manifest.flavor == "gguf" and manifest.task == "llm/v1/chat"
    assert (tmp_path / "chat" / "model" / demo_gguf.name).stat().st_size == demo_gguf.stat().st_size
    assert manifest.flavor_config["file_type"] == "Q4_1"
    assert "llama-cpp-python==0.3.16" in (tmp_path / "chat" / "requirements.txt").read_text()
    chat = modelport.load_model(tmp_path / "chat")
    try:
        answer = chat.predict({**QUESTION, "max_tokens": 12, "temperature": 0})
        assert answer["choices"][0]["message"]["content"].strip()
        assert answer["choices"][0]["finish_reason"] in ("stop", "length")
        assert 0 < answer["usage"]["completion_tokens"] <= 12
    finally:
        chat.close()


def test_a_reference_and_a_template_of_ones_own(demo_gguf: Path, tmp_path: Path) -> None:
    template = "{% for m in messages %}<<{{ m['content'] }}>>{% endfor %}ANSWER:"
    modelport.gguf.save_model(
        tmp_path / "ref", gguf_file=demo_gguf, copy=False, chat_template=template, progress=False
    )
    assert not (tmp_path / "ref" / "model").exists()
    model, tokenizer = modelport.gguf.load_model(tmp_path / "ref")
    try:
        assert tokenizer.chat_template == template
        assert model.vocab_size == len(tokenizer)
    finally:
        model.close()


def test_the_raw_completions_task(demo_gguf: Path, tmp_path: Path) -> None:
    modelport.gguf.save_model(
        tmp_path / "c", gguf_file=demo_gguf, task="llm/v1/completions", copy=False, progress=False
    )
    model = modelport.load_model(tmp_path / "c")
    try:
        out = model.predict({"prompt": "The capital of France is", "max_tokens": 4})
        assert out["choices"][0]["text"]
    finally:
        model.close()


def test_bad_files_and_settings_are_refused_by_name(demo_gguf: Path, tmp_path: Path) -> None:
    not_gguf = tmp_path / "model.safetensors"
    not_gguf.write_bytes(b"\x00" * 64)
    with pytest.raises(PackageError, match=r"model\.safetensors' is not a GGUF file"):
        modelport.gguf.save_model(tmp_path / "p", gguf_file=not_gguf)
    with pytest.raises(PackageError, match="task 'text-generation' is not supported"):
        modelport.gguf.save_model(tmp_path / "p", gguf_file=demo_gguf, task="text-generation")
    with pytest.raises(PackageError, match=r"a GGUF model always runs on llama\.cpp"):
        modelport.gguf.save_model(
            tmp_path / "p", gguf_file=demo_gguf, engine_config={"path": "packed"}
        )
    with pytest.raises(PackageError, match="needs gguf_file"):
        modelport.gguf.save_model(tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_load_options_it_cannot_apply_are_refused(demo_gguf: Path, tmp_path: Path) -> None:
    modelport.gguf.save_model(tmp_path / "p", gguf_file=demo_gguf, copy=False, progress=False)
    with pytest.raises(InvalidRequestError, match="no load option 'dtype'"):
        modelport.load_model(tmp_path / "p", dtype="bfloat16")
    with pytest.raises(InvalidRequestError, match=r"always runs on llama\.cpp"):
        modelport.load_model(tmp_path / "p", engine_config={"path": "serial"})


def test_a_moved_file_is_named(demo_gguf: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved.gguf"
    shutil.copyfile(demo_gguf, moved)
    modelport.gguf.save_model(tmp_path / "p", gguf_file=moved, copy=False, progress=False)
    moved.unlink()
    with pytest.raises(
        PackageError, match=r"GGUF file it references \('.*moved\.gguf'\) is missing"
    ):
        modelport.load_model(tmp_path / "p")


def test_the_demo_package_and_its_info(demo_gguf_uri: str) -> None:
    manifest = Manifest.read(Path(demo_gguf_uri))
    assert manifest.flavor == "gguf"
    from modelport.flavors import describe_package

    rows = dict(describe_package(Path(demo_gguf_uri), manifest))
    assert rows["architecture"] == "llama (Q4_1)"
    assert rows["engine path"].startswith("llama.cpp")


def test_log_model_registers_the_file(demo_gguf: Path) -> None:
    import modelport.tracking as mt

    with mt.start_run():
        info = modelport.gguf.log_model(
            "chat", gguf_file=demo_gguf, copy=False, registered_model_name="smol", progress=False
        )
    assert info.model_uri.startswith("runs:/")
    manifest = Manifest.read(modelport.package.uri.resolve_model_uri("models:/smol/1"))
    assert manifest.flavor == "gguf"
