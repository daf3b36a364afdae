from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import modelport.transformers
from modelport.engine import EngineConfig
from modelport.errors import AlreadyExistsError, NotFoundError, PackageError
from modelport.package.manifest import Manifest
from modelport.signature import chat_signature, completions_signature


def _same_weights(a: Any, b: Any) -> bool:
    import torch

    state_a, state_b = a.state_dict(), b.state_dict()
    return state_a.keys() == state_b.keys() and all(
        torch.equal(state_a[k], state_b[k]) for k in state_a
    )


def test_save_a_folder_copies_weights_tokenizer_and_template(
    tmp_path: Path, tiny_llama_folder: Path, tiny_llama: tuple[Any, Any]
) -> None:
    manifest = modelport.transformers.save_model(
        tmp_path / "pkg", transformers_model=tiny_llama_folder, progress=False
    )
    model_dir = tmp_path / "pkg" / "model"
    assert (model_dir / "model.safetensors").is_file()
    assert (model_dir / "tokenizer.json").is_file()
    assert (model_dir / "chat_template.jinja").is_file()
    assert manifest.flavor == "transformers"
    assert manifest.task == "llm/v1/chat"
    assert manifest.signature == chat_signature()
    assert manifest.streamable
    assert manifest.flavor_config["model_dir"] == "model"
    assert manifest.flavor_config["model_name"] == "TinyLlama"
    assert Manifest.read(tmp_path / "pkg").model_uuid == manifest.model_uuid
    example = json.loads((tmp_path / "pkg" / "input_example.json").read_text())
    assert example["input"]["messages"][0]["role"] == "user"
    requirements = (tmp_path / "pkg" / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("transformers==") for line in requirements)
    assert any(line.startswith("modelport==") for line in requirements)

    # saved without a dtype, it loads in dtype="auto": bf16 where the CPU has it
    model, tokenizer = modelport.transformers.load_model(tmp_path / "pkg", dtype="float32")
    assert _same_weights(model, tiny_llama[0])
    assert tokenizer.chat_template == tiny_llama[1].chat_template


def test_save_a_pipeline(tmp_path: Path, tiny_llama: tuple[Any, Any]) -> None:
    from transformers import pipeline

    model, tokenizer = tiny_llama
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer)
    manifest = modelport.transformers.save_model(
        tmp_path / "pkg", transformers_model=pipe, task="llm/v1/chat", progress=False
    )
    assert (tmp_path / "pkg" / "model" / "model.safetensors").is_file()
    loaded, _ = modelport.transformers.load_model(tmp_path / "pkg", dtype="float32")
    assert _same_weights(loaded, model)
    assert manifest.flavor_config["model_name"] == "TinyLlama"


def test_save_a_model_and_tokenizer_dict_for_completions(
    tmp_path: Path, tiny_llama: tuple[Any, Any]
) -> None:
    model, tokenizer = tiny_llama
    manifest = modelport.transformers.save_model(
        tmp_path / "pkg",
        transformers_model={"model": model, "tokenizer": tokenizer},
        task="llm/v1/completions",
        progress=False,
    )
    assert manifest.task == "llm/v1/completions"
    assert manifest.signature == completions_signature()


def test_reference_only_copies_nothing(tmp_path: Path, tiny_llama_folder: Path) -> None:
    manifest = modelport.transformers.save_model(
        tmp_path / "pkg",
        transformers_model=tiny_llama_folder,
        save_pretrained=False,
        progress=False,
    )
    assert not (tmp_path / "pkg" / "model").exists()
    assert manifest.flavor_config["reference"] == str(tiny_llama_folder.absolute())
    assert manifest.size_bytes < 100_000
    model, _ = modelport.transformers.load_model(tmp_path / "pkg")
    assert model.config.hidden_size == 32


def test_reference_to_a_model_object_uses_the_folder_it_came_from(
    tmp_path: Path, tiny_llama: tuple[Any, Any], tiny_llama_folder: Path
) -> None:
    model, tokenizer = tiny_llama
    manifest = modelport.transformers.save_model(
        tmp_path / "pkg",
        transformers_model={"model": model, "tokenizer": tokenizer},
        save_pretrained=False,
        progress=False,
    )
    assert manifest.flavor_config["reference"] == str(tiny_llama_folder.absolute())


def test_a_missing_referenced_folder_is_a_clear_error(
    tmp_path: Path, tiny_llama_folder: Path
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_llama_folder, copy)
    modelport.transformers.save_model(
        tmp_path / "pkg", transformers_model=copy, save_pretrained=False, progress=False
    )
    shutil.rmtree(copy)
    with pytest.raises(PackageError, match="reference"):
        modelport.transformers.load_model(tmp_path / "pkg")


def test_dtype_and_device_apply_at_load(tmp_path: Path, tiny_llama_folder: Path) -> None:
    import torch

    manifest = modelport.transformers.save_model(
        tmp_path / "pkg",
        transformers_model=tiny_llama_folder,
        dtype="bfloat16",
        device="cpu",
        save_pretrained=False,
        progress=False,
    )
    assert manifest.flavor_config["dtype"] == "bfloat16"
    model, _ = modelport.transformers.load_model(tmp_path / "pkg")
    assert model.dtype == torch.bfloat16
    assert model.device.type == "cpu"
    model, _ = modelport.transformers.load_model(tmp_path / "pkg", dtype="float32")
    assert model.dtype == torch.float32


def test_engine_config_is_stored(tmp_path: Path, tiny_llama_folder: Path) -> None:
    manifest = modelport.transformers.save_model(
        tmp_path / "pkg",
        transformers_model=tiny_llama_folder,
        engine_config=EngineConfig(batching=False),
        save_pretrained=False,
        progress=False,
    )
    assert manifest.flavor_config["engine_config"]["batching"] is False


def test_a_chat_template_can_be_given(tmp_path: Path, tiny_llama: tuple[Any, Any]) -> None:
    from transformers import AutoTokenizer

    model, tokenizer = tiny_llama
    bare = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    bare.chat_template = None
    with pytest.raises(PackageError, match="no chat template"):
        modelport.transformers.save_model(
            tmp_path / "pkg", transformers_model={"model": model, "tokenizer": bare}, progress=False
        )
    assert not (tmp_path / "pkg").exists()
    modelport.transformers.save_model(
        tmp_path / "pkg",
        transformers_model={"model": model, "tokenizer": bare},
        chat_template="{% for m in messages %}{{ m['content'] }}{% endfor %}",
        progress=False,
    )
    _, loaded = modelport.transformers.load_model(tmp_path / "pkg")
    assert loaded.chat_template.startswith("{% for m in messages %}")
    assert bare.chat_template is None  # the caller's tokenizer is left as it was


def test_save_shows_progress_on_stderr(
    tmp_path: Path, tiny_llama_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modelport.transformers.save_model(tmp_path / "pkg", transformers_model=tiny_llama_folder)
    assert "Copying TinyLlama" in capsys.readouterr().err


def test_an_existing_target_is_refused(tmp_path: Path, tiny_llama_folder: Path) -> None:
    kwargs: dict[str, Any] = {
        "transformers_model": tiny_llama_folder,
        "save_pretrained": False,
        "progress": False,
    }
    modelport.transformers.save_model(tmp_path / "pkg", **kwargs)
    with pytest.raises(AlreadyExistsError):
        modelport.transformers.save_model(tmp_path / "pkg", **kwargs)
    modelport.transformers.save_model(tmp_path / "pkg", overwrite=True, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transformers_model": None}, "needs transformers_model"),
        ({"transformers_model": 42}, "must be a text-generation pipeline"),
        ({"transformers_model": "no/such/folder"}, "not a local Hugging Face folder"),
        ({"transformers_model": {"model": 1}}, "exactly the keys 'model' and 'tokenizer'"),
        ({"transformers_model": {"model": 1, "tokenizer": 2}}, "must be a transformers"),
        ({"task": "summarization"}, "accepted: llm/v1/chat, llm/v1/completions"),
        ({"dtype": "int3"}, "accepted: auto, float32"),
        ({"device": "tpu"}, "accepted: auto, cpu, cuda"),
        ({"engine_config": {"speed": 11}}, "engine_config for 'speed': unknown field; accepted: "),
        ({"engine_config": "fast"}, "engine_config must be a dict"),
        ({"model_config": {"max_new_tokens": 0}}, "positive integer"),
        ({"metadata": "x"}, "metadata must be a dict"),
    ],
)
def test_bad_arguments_are_refused_and_leave_nothing(
    tmp_path: Path, tiny_llama_folder: Path, kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "transformers_model": tiny_llama_folder,
        "save_pretrained": False,
        "progress": False,
        **kwargs,
    }
    with pytest.raises(PackageError, match=message):
        modelport.transformers.save_model(tmp_path / "pkg", **arguments)
    assert list(tmp_path.iterdir()) == []


def test_reference_needs_a_local_folder(tmp_path: Path, tiny_llama: tuple[Any, Any]) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tiny_llama[1]),
        hidden_size=16,
        intermediate_size=32,
        num_attention_heads=2,
        num_hidden_layers=1,
    )
    model = LlamaForCausalLM(config)  # built in memory: no folder behind it
    with pytest.raises(PackageError, match="not loaded from one"):
        modelport.transformers.save_model(
            tmp_path / "pkg",
            transformers_model={"model": model, "tokenizer": tiny_llama[1]},
            save_pretrained=False,
            progress=False,
        )


def test_loading_another_flavor_or_nothing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        modelport.transformers.load_model(tmp_path / "missing")
    (tmp_path / "other").mkdir()
    Manifest(flavor="python").write(tmp_path / "other")
    with pytest.raises(PackageError, match="not a transformers one"):
        modelport.transformers.load_model(tmp_path / "other")


def test_progress_false_is_silent(
    tmp_path: Path, tiny_llama: tuple[Any, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    model, tokenizer = tiny_llama
    modelport.transformers.save_model(
        tmp_path / "pkg",
        transformers_model={"model": model, "tokenizer": tokenizer},
        progress=False,
    )
    assert capfd.readouterr().err == ""


def test_a_chat_template_that_cannot_render_fails_the_save(
    tmp_path: Path, tiny_llama: tuple[Any, Any]
) -> None:
    model, tokenizer = tiny_llama
    with pytest.raises(PackageError, match="cannot render a one-message conversation"):
        modelport.transformers.save_model(
            tmp_path / "pkg",
            transformers_model={"model": model, "tokenizer": tokenizer},
            chat_template="{{ messages[0]['content'] | no_such_filter }}",
            progress=False,
        )
    assert not (tmp_path / "pkg").exists()
