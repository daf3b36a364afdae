"""load_model and LoadedModel: from a package directory to predictions."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import modelport
from modelport import ChatModel, Context, PythonModel
from modelport.errors import InvalidRequestError, NotFoundError, PackageError
from modelport.flavors.python import UnsafePickleWarning
from modelport.types import ChatCompletionResponse

HELLO = {"messages": [{"role": "user", "content": "hello"}]}

CODE_WITH_ARTIFACT = """
from pathlib import Path

from modelport import ChatModel, set_model
from modelport.types import ChatCompletionResponse


class Suffixer(ChatModel):
    def load_context(self, context):
        self.suffix = Path(context.artifacts["suffix"]).read_text().strip()
        self.style = context.model_config["style"]

    def predict(self, context, messages, params):
        text = f"{messages[-1].text}{self.suffix} ({self.style}, {params.max_tokens})"
        return ChatCompletionResponse(
            model="suffixer",
            choices=[{"index": 0, "message": {"role": "assistant", "content": text}}],
            usage={"prompt_tokens": 1, "completion_tokens": 2},
        )


set_model(Suffixer())
"""


@pytest.fixture
def code_package(tmp_path: Path) -> Path:
    (tmp_path / "suffix.txt").write_text("!!\n")
    (tmp_path / "config.yaml").write_text("style: loud\n")
    (tmp_path / "suffixer.py").write_text(CODE_WITH_ARTIFACT)
    modelport.save_model(
        tmp_path / "pkg",
        python_model=tmp_path / "suffixer.py",
        artifacts={"suffix": tmp_path / "suffix.txt"},
        model_config=tmp_path / "config.yaml",
    )
    return tmp_path / "pkg"


def test_models_from_code_loads_without_a_pickle_warning(code_package: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = modelport.load_model(code_package)

    out = loaded.predict({**HELLO, "max_tokens": 9})

    assert out["choices"][0]["message"]["content"] == "hello!! (loud, 9)"
    assert out["object"] == "chat.completion"
    assert out["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


def test_artifacts_point_inside_the_loaded_package(code_package: Path, tmp_path: Path) -> None:
    (tmp_path / "suffix.txt").write_text("changed")  # the package holds its own copy

    loaded = modelport.load_model(code_package)

    assert loaded.predict(HELLO)["choices"][0]["message"]["content"].startswith("hello!!")


def test_a_moved_package_still_loads(code_package: Path, tmp_path: Path) -> None:
    moved = code_package.rename(tmp_path / "elsewhere")

    loaded = modelport.load_model(str(moved))

    assert loaded.path == moved
    assert loaded.predict(HELLO)["model"] == "suffixer"


def test_chat_predict_returns_one_dict_and_params_override(code_package: Path) -> None:
    loaded = modelport.load_model(code_package)

    out = loaded.predict({**HELLO, "max_tokens": 3}, params={"max_tokens": 25})

    assert isinstance(out, dict)
    assert out["choices"][0]["message"]["content"].endswith("25)")


def test_chat_stream_of_a_model_without_stream_is_one_chunk_then_usage(
    code_package: Path,
) -> None:
    loaded = modelport.load_model(code_package)

    chunks = list(loaded.predict_stream({**HELLO, "stream_options": {"include_usage": True}}))

    assert [c["object"] for c in chunks] == ["chat.completion.chunk"] * 2
    assert chunks[0]["choices"][0]["delta"]["content"] == "hello!! (loud, None)"
    assert chunks[1]["choices"] == [] and chunks[1]["usage"]["total_tokens"] == 3
    assert len({c["id"] for c in chunks}) == 1


def test_typed_chat_api(code_package: Path) -> None:
    loaded = modelport.load_model(code_package)

    response = loaded.chat(HELLO)
    chunks = list(loaded.chat_stream(HELLO))

    assert isinstance(response, ChatCompletionResponse)
    assert chunks[0].choices[0].finish_reason == "stop"
    with pytest.raises(InvalidRequestError, match="task is llm/v1/chat, not llm/v1/completions"):
        loaded.complete({"prompt": "x"})


@pytest.mark.parametrize(
    ("data", "params", "param"),
    [
        ({"messages": [{"role": "wizard", "content": "x"}]}, None, "messages[0].role"),
        ({"messages": [{"content": "x"}]}, None, "messages[0].role"),
        (HELLO, {"temperature": 5}, "temperature"),
        ({**HELLO, "n": 0}, None, "n"),
        (["hello"], None, None),
        (HELLO, ["max_tokens"], "params"),
    ],
)
def test_bad_chat_requests_raise_naming_the_field(
    code_package: Path, data: Any, params: Any, param: str | None
) -> None:
    loaded = modelport.load_model(code_package)

    with pytest.raises(InvalidRequestError) as caught:
        loaded.predict(data, params)

    assert caught.value.param == param


def test_a_pickled_model_warns_that_loading_runs_code(tmp_path: Path) -> None:
    class Echo(ChatModel):
        def predict(self, context: Context, messages: Any, params: Any) -> Any:
            return ChatCompletionResponse(
                choices=[{"index": 0, "message": {"role": "assistant", "content": "x"}}]
            )

    modelport.save_model(tmp_path / "pkg", python_model=Echo())

    with pytest.warns(UnsafePickleWarning, match="runs code: load only packages you trust"):
        loaded = modelport.load_model(tmp_path / "pkg")
    assert loaded.predict(HELLO)["choices"][0]["message"]["content"] == "x"


def test_load_context_failing_at_load_time_is_a_package_error(tmp_path: Path) -> None:
    code = tmp_path / "m.py"
    code.write_text(
        "import os\n"
        "from modelport import ChatModel, set_model\n"
        "from modelport.types import ChatCompletionResponse\n"
        "class M(ChatModel):\n"
        "    def load_context(self, context):\n"
        "        if os.environ.get('BREAK_LOAD'):\n"
        "            raise OSError('disk gone')\n"
        "    def predict(self, context, messages, params):\n"
        "        return ChatCompletionResponse(choices=[{'message': {'role': 'assistant', "
        "'content': 'x'}}])\n"
        "set_model(M())\n"
    )
    modelport.save_model(tmp_path / "pkg", python_model=code)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BREAK_LOAD", "1")
        with pytest.raises(PackageError, match=r"load_context\(\) of M failed: OSError"):
            modelport.load_model(tmp_path / "pkg")


@pytest.mark.parametrize(
    ("uri", "error", "words"),
    [
        ("no-such-model", NotFoundError, "No model at 'no-such-model'"),
        ("file:///no/such/dir", NotFoundError, "the path '/no/such/dir' does not exist"),
        (".", PackageError, "is not a modelport package: it has no modelport.yaml"),
        ("notes.txt", PackageError, "is a file, not a modelport package"),
        ("", PackageError, "must be a non-empty string"),
        ("gs://bucket/model", PackageError, "Unsupported model URI scheme 'gs:'.*s3:/"),
        ("s3://Bad_Bucket/model", InvalidRequestError, "Invalid bucket name 'Bad_Bucket'"),
    ],
)
def test_bad_uris_say_what_is_wrong(uri: str, error: type[Exception], words: str) -> None:
    Path("notes.txt").write_text("not a model")

    with pytest.raises(error, match=words):
        modelport.load_model(uri)


def test_a_package_whose_code_file_is_gone(code_package: Path) -> None:
    (code_package / "model_code" / "suffixer.py").unlink()

    with pytest.raises(PackageError, match=r"must be an existing \.py file"):
        modelport.load_model(code_package)


def test_a_corrupt_pickle_is_a_package_error(tmp_path: Path) -> None:
    class Tiny(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            return model_input

    modelport.save_model(tmp_path / "pkg", python_model=Tiny())
    (tmp_path / "pkg" / "python_model.pkl").write_bytes(b"garbage")

    with pytest.warns(UnsafePickleWarning), pytest.raises(PackageError, match="cannot unpickle"):
        modelport.load_model(tmp_path / "pkg")


# --- custom PythonModels ----------------------------------------------------------------------


class ParamsEcho(PythonModel):
    def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
        return {"prompt": model_input["prompt"][0], "type": type(model_input).__name__, **params}


def test_params_inferred_from_an_example_pair_are_defaults(tmp_path: Path) -> None:
    modelport.save_model(
        tmp_path / "pkg",
        python_model=ParamsEcho(),
        input_example=({"prompt": "hi"}, {"max_tokens": 10, "temperature": 0.5}),
    )
    with pytest.warns(UnsafePickleWarning):
        loaded = modelport.load_model(tmp_path / "pkg")

    out = loaded.predict(data={"prompt": "yo"}, params={"max_tokens": 25})

    assert out == {"prompt": "yo", "type": "dict", "max_tokens": 25, "temperature": 0.5}
    assert loaded.metadata.signature is not None
    assert loaded.metadata.signature.param_defaults() == {"max_tokens": 10, "temperature": 0.5}
    with pytest.raises(InvalidRequestError, match="accepted params: max_tokens, temperature"):
        loaded.predict({"prompt": "x"}, params={"top_k": 3})


def test_dataframe_example_and_dataframe_or_dict_callers(tmp_path: Path) -> None:
    modelport.save_model(
        tmp_path / "pkg",
        python_model=ParamsEcho(),
        input_example=(pd.DataFrame({"prompt": ["hello"]}), {"k": 1}),
    )
    with pytest.warns(UnsafePickleWarning):
        loaded = modelport.load_model(tmp_path / "pkg")

    from_frame = loaded.predict(pd.DataFrame({"prompt": ["a"]}))
    from_columns = loaded.predict({"prompt": ["b"]})
    from_records = loaded.predict([{"prompt": "c"}])

    assert from_frame == {"prompt": "a", "type": "DataFrame", "k": 1}
    assert from_columns == {"prompt": "b", "type": "dict", "k": 1}
    assert from_records == {"prompt": "c", "type": "dict", "k": 1}
    stored = (tmp_path / "pkg" / "input_example.json").read_text()
    assert '"format": "dataframe_split"' in stored


def test_a_model_without_signature_passes_input_through(tmp_path: Path) -> None:
    class Raw(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            return [model_input, params]

    modelport.save_model(tmp_path / "pkg", python_model=Raw())
    with pytest.warns(UnsafePickleWarning):
        loaded = modelport.load_model(tmp_path / "pkg")

    assert loaded.metadata.signature is None
    assert loaded.predict("anything", {"x": 1}) == ["anything", {"x": 1}]
    with pytest.raises(InvalidRequestError, match="params must be a dict, got list"):
        loaded.predict("anything", ["x"])  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="task is a custom PythonModel"):
        loaded.chat(HELLO)


def test_loaded_model_repr_names_flavor_task_and_uuid(code_package: Path) -> None:
    loaded = modelport.load_model(code_package)

    assert repr(loaded) == (
        f"LoadedModel(flavor='python', task='llm/v1/chat', uuid='{loaded.metadata.model_uuid}')"
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [("style: [unclosed\n", "cannot be read"), ("- a list\n", "cannot be read")],
)
def test_a_corrupt_model_config_is_a_package_error(
    code_package: Path, content: str, words: str
) -> None:
    (code_package / "model_config.yaml").write_text(content)

    with pytest.raises(PackageError, match=f"model_config .* {words}"):
        modelport.load_model(code_package)


CLOSABLE = """
from pathlib import Path

from modelport import ChatModel, set_model
from modelport.types import ChatCompletionResponse


class Closable(ChatModel):
    def load_context(self, context):
        self.flag = Path(context.model_config["flag"])

    def predict(self, context, messages, params):
        return ChatCompletionResponse(choices=[{"message": {"role": "assistant", "content": "x"}}])

    def close(self):
        self.flag.write_text(str(int(self.flag.read_text() or 0) + 1))


set_model(Closable())
"""


def test_close_releases_the_model_and_with_closes_on_exit(tmp_path: Path) -> None:
    (tmp_path / "closable.py").write_text(CLOSABLE)
    flag = tmp_path / "closed.txt"
    flag.write_text("")
    modelport.save_model(
        tmp_path / "pkg", python_model=tmp_path / "closable.py", model_config={"flag": str(flag)}
    )
    with modelport.load_model(tmp_path / "pkg") as loaded:
        assert loaded.predict({"messages": [{"role": "user", "content": "hi"}]})["choices"]
        assert flag.read_text() == ""
    assert flag.read_text() == "1"


def test_close_is_a_no_op_for_models_without_close(code_package: Path) -> None:
    loaded = modelport.load_model(code_package)
    loaded.close()
    loaded.close()
