"""``modelport predict``: in-process through ``main`` and as the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelport.cli.main import main
from modelport.errors import NotFoundError

ECHO_CODE = """
from modelport import ChatModel, set_model
from modelport.types import ChatCompletionChunk, ChatCompletionResponse


class Echo(ChatModel):
    def predict(self, context, messages, params):
        text = f"{messages[-1].text} (max_tokens={params.max_tokens})"
        return ChatCompletionResponse(
            model="echo",
            choices=[{"index": 0, "message": {"role": "assistant", "content": text}}],
        )

    def predict_stream(self, context, messages, params):
        for word in messages[-1].text.split():
            yield ChatCompletionChunk(model="echo", choices=[{"delta": {"content": word}}])


set_model(Echo())
"""
REQUEST = {"messages": [{"role": "user", "content": "hello there"}]}


def console_script() -> str:
    return str(Path(sys.executable).with_name("modelport"))


@pytest.fixture
def echo_package(tmp_path: Path) -> Path:
    import modelport

    (tmp_path / "echo.py").write_text(ECHO_CODE)
    modelport.save_model(tmp_path / "echo", python_model=tmp_path / "echo.py")
    return tmp_path / "echo"


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(REQUEST))
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_prints_one_chat_completion(
    capsys: pytest.CaptureFixture[str], echo_package: Path, request_file: Path
) -> None:
    code, out, err = run_cli(capsys, "predict", "-m", str(echo_package), "-i", str(request_file))

    assert code == 0 and err == ""
    response = json.loads(out)
    assert response["object"] == "chat.completion"
    assert response["choices"][0]["message"]["content"] == "hello there (max_tokens=None)"


def test_params_are_merged_into_the_request(
    capsys: pytest.CaptureFixture[str], echo_package: Path, request_file: Path
) -> None:
    code, out, _ = run_cli(
        capsys,
        "predict",
        "-m",
        echo_package.as_uri(),
        "-i",
        str(request_file),
        "--params",
        '{"max_tokens": 7}',
    )

    assert code == 0
    assert json.loads(out)["choices"][0]["message"]["content"].endswith("(max_tokens=7)")


def test_stream_prints_one_chunk_per_line(
    capsys: pytest.CaptureFixture[str], echo_package: Path, request_file: Path
) -> None:
    code, out, _ = run_cli(
        capsys, "predict", "-m", str(echo_package), "-i", str(request_file), "--stream"
    )

    chunks = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [c["choices"][0]["delta"]["content"] for c in chunks] == ["hello", "there"]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}


def test_input_from_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, echo_package: Path
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(REQUEST)))

    code, out, _ = run_cli(capsys, "predict", "-m", str(echo_package), "-i", "-")

    assert code == 0 and json.loads(out)["model"] == "echo"


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ({}, ["-i", "missing.json"], "error: input file 'missing.json' does not exist"),
        ({}, ["-i", "."], "error: input '.' is a directory"),
        (
            {"nan.json": '{"messages": [{"role": "user", "content": "x"}], "temperature": NaN}'},
            ["-i", "nan.json"],
            "error: NaN is not a JSON value",
        ),
        (
            {"bad.json": "{nope"},
            ["-i", "bad.json"],
            "error: input file 'bad.json' is not valid JSON",
        ),
        (
            {"in.json": json.dumps(REQUEST)},
            ["-i", "in.json", "--params", "{oops"],
            "error: --params is not valid JSON",
        ),
        (
            {"in.json": json.dumps(REQUEST)},
            ["-i", "in.json", "--params", "[1, 2]"],
            "error: --params must be a JSON object",
        ),
        (
            {"in.json": json.dumps(REQUEST)},
            ["-i", "in.json", "--params", '{"temperature": 9}'],
            "error: Invalid ChatCompletionRequest for 'temperature'",
        ),
        (
            {"in.json": json.dumps({"messages": [{"role": "wizard", "content": "x"}]})},
            ["-i", "in.json"],
            "error: Invalid ChatCompletionRequest for 'messages[0].role'",
        ),
        ({"in.json": "[]"}, ["-i", "in.json"], "takes one request object (a dict), got list"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    capsys: pytest.CaptureFixture[str],
    echo_package: Path,
    setup: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    for name, text in setup.items():
        Path(name).write_text(text)

    code, out, err = run_cli(capsys, "predict", "-m", str(echo_package), *args)

    assert code == 1 and out == ""
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_model_path_is_one_line(
    capsys: pytest.CaptureFixture[str], request_file: Path
) -> None:
    code, _, err = run_cli(capsys, "predict", "-m", "no/such/model", "-i", str(request_file))

    assert code == 1
    assert err == "error: No model at 'no/such/model': the path 'no/such/model' does not exist\n"


def test_debug_lets_the_traceback_through(request_file: Path) -> None:
    with pytest.raises(NotFoundError):
        main(["--debug", "predict", "-m", "no/such/model", "-i", str(request_file)])


def test_a_python_model_with_params(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import modelport

    (tmp_path / "scaler.py").write_text(
        "from modelport import PythonModel, set_model\n"
        "class Scaler(PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return [x * params['factor'] for x in model_input['x']]\n"
        "set_model(Scaler())\n"
    )
    modelport.save_model(
        tmp_path / "scaler",
        python_model=tmp_path / "scaler.py",
        input_example=({"x": [1.0, 2.0]}, {"factor": 2.0}),
    )
    Path("in.json").write_text('{"x": [1, 2, 3]}')

    code, out, _ = run_cli(
        capsys,
        "predict",
        "-m",
        str(tmp_path / "scaler"),
        "-i",
        "in.json",
        "--params",
        '{"factor": 10}',
    )

    assert code == 0 and json.loads(out) == [10.0, 20.0, 30.0]


# --- the installed console script -------------------------------------------------------------


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_console_script_predicts(echo_package: Path, request_file: Path) -> None:
    result = run_script("predict", "-m", str(echo_package), "-i", str(request_file))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["choices"][0]["message"]["content"].startswith("hello there")


def test_console_script_bad_input_is_one_line_unless_debug(
    echo_package: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")

    quiet = run_script("predict", "-m", str(echo_package), "-i", str(bad))
    loud = run_script("--debug", "predict", "-m", str(echo_package), "-i", str(bad))

    assert quiet.returncode == 1
    assert quiet.stderr.startswith(f"error: input file '{bad}' is not valid JSON")
    assert len(quiet.stderr.splitlines()) == 1
    assert loud.returncode != 0
    assert "Traceback (most recent call last)" in loud.stderr
    assert "InvalidRequestError" in loud.stderr


def test_without_a_command_help_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys)

    assert code == 2
    assert "predict" in out and "info" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import modelport

    with pytest.raises(SystemExit):
        main(["--version"])

    assert capsys.readouterr().out.strip() == f"modelport {modelport.__version__}"


def test_missing_required_option_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["predict", "-i", "x.json"])

    assert caught.value.code == 2
    assert "-m/--model-uri" in capsys.readouterr().err


def test_dataframe_and_array_results_print_as_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import modelport

    (tmp_path / "frames.py").write_text(
        "import numpy as np\n"
        "import pandas as pd\n"
        "from modelport import PythonModel, set_model\n"
        "class Frames(PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        if model_input == 'frame':\n"
        "            return pd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})\n"
        "        return {'scores': np.array([0.5, 1.5])}\n"
        "set_model(Frames())\n"
    )
    modelport.save_model(tmp_path / "frames", python_model=tmp_path / "frames.py")
    Path("frame.json").write_text('"frame"')
    Path("array.json").write_text('"array"')

    _, frame_out, _ = run_cli(capsys, "predict", "-m", str(tmp_path / "frames"), "-i", "frame.json")
    _, array_out, _ = run_cli(capsys, "predict", "-m", str(tmp_path / "frames"), "-i", "array.json")

    assert json.loads(frame_out) == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert json.loads(array_out) == {"scores": [0.5, 1.5]}


# --- the /invocations input formats (modelport.scoring) ------------------------------------------

DESCRIBE_CODE = """
from modelport import PythonModel, set_model


class Describe(PythonModel):
    def predict(self, context, model_input, params=None):
        kind = type(model_input).__name__
        if kind == "DataFrame":
            model_input = model_input.to_dict(orient="list")
        return {"type": kind, "input": model_input, "params": params}

    def predict_stream(self, context, model_input, params=None):
        for i, item in enumerate(model_input):
            yield {"n": i, "item": item, "params": params}


set_model(Describe())
"""
SHOUT_CODE = """
from modelport import CompletionModel, set_model
from modelport.types import CompletionResponse


class Shout(CompletionModel):
    def predict(self, context, prompts, params):
        return CompletionResponse(
            choices=[{"index": i, "text": p.upper()[: params.max_tokens]} for i, p in enumerate(prompts)]
        )


set_model(Shout())
"""
FRAME = {"a": [1, 2], "b": ["x", "y"]}


def saved_from_code(tmp_path: Path, name: str, code: str, example: object = None) -> Path:
    import modelport

    (tmp_path / f"{name}.py").write_text(code)
    modelport.save_model(
        tmp_path / name, python_model=tmp_path / f"{name}.py", input_example=example
    )
    return tmp_path / name


@pytest.fixture
def describe(tmp_path: Path) -> Path:
    return saved_from_code(tmp_path, "describe", DESCRIBE_CODE)


def predict_on(
    capsys: pytest.CaptureFixture[str], model: Path, body: object, *options: str
) -> tuple[int, str, str]:
    Path("body.json").write_text(json.dumps(body))
    return run_cli(capsys, "predict", "-m", str(model), "-i", "body.json", *options)


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}},
        {"dataframe_records": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]},
    ],
)
def test_dataframe_formats_reach_the_model_as_a_dataframe_and_answer_predictions(
    capsys: pytest.CaptureFixture[str], describe: Path, body: dict
) -> None:
    code, out, err = predict_on(capsys, describe, body)

    assert code == 0 and err == ""
    assert json.loads(out) == {"predictions": {"type": "DataFrame", "input": FRAME, "params": None}}


def test_instances_of_objects_become_columns(
    capsys: pytest.CaptureFixture[str], describe: Path
) -> None:
    code, out, _ = predict_on(
        capsys, describe, {"instances": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}
    )

    assert code == 0
    assert json.loads(out)["predictions"] == {"type": "dict", "input": FRAME, "params": None}


def test_inputs_with_params_and_cli_params_merged_over_them(
    capsys: pytest.CaptureFixture[str], describe: Path
) -> None:
    body = {"inputs": ["p", "q"], "params": {"k": 1, "j": 2}}

    code, out, _ = predict_on(capsys, describe, body, "--params", '{"k": 5}')

    assert code == 0
    assert json.loads(out)["predictions"] == {
        "type": "list",
        "input": ["p", "q"],
        "params": {"k": 5, "j": 2},
    }


def test_a_plain_input_still_reaches_the_model_as_it_is(
    capsys: pytest.CaptureFixture[str], describe: Path
) -> None:
    body = {"x": [1, 2], "params": {"not": "params"}, "stream": True}

    code, out, _ = predict_on(capsys, describe, body, "--params", '{"k": 5}')

    assert code == 0
    assert json.loads(out) == {"type": "dict", "input": body, "params": {"k": 5}}


@pytest.mark.parametrize(
    ("body", "options"),
    [({"inputs": ["p", "q"], "stream": True}, []), ({"inputs": ["p", "q"]}, ["--stream"])],
)
def test_python_model_streams_one_chunk_per_line(
    capsys: pytest.CaptureFixture[str], describe: Path, body: dict, options: list[str]
) -> None:
    code, out, _ = predict_on(capsys, describe, body, *options, "--params", '{"k": 1}')

    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"n": 0, "item": "p", "params": {"k": 1}},
        {"n": 1, "item": "q", "params": {"k": 1}},
    ]


@pytest.mark.parametrize(
    ("body", "options", "message"),
    [
        (
            {"inputs": [1], "instances": [2]},
            [],
            "error: A scoring input takes exactly one of dataframe_split, dataframe_records, "
            "instances, inputs (plus optional 'params' and 'stream'); got keys: inputs, instances",
        ),
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2]]}},
            [],
            "error: 'dataframe_split.data[1]' must be a list of 2 values (one per column), got [2]",
        ),
        ({"inputs": [1], "params": [1]}, [], "error: 'params' must be an object, got a JSON array"),
        (
            {"inputs": [1], "params": "k=1"},
            ["--params", '{"k": 2}'],
            "error: 'params' must be an object, got a JSON string",
        ),
        ({"inputs": [1], "stream": "yes"}, [], "error: 'stream' must be true or false"),
        (
            {"dataframe_records": {"a": 1}},
            [],
            "error: 'dataframe_records' must be a list of objects",
        ),
        ({"inputs": [1]}, ["--params", "3"], "error: --params must be a JSON object"),
    ],
)
def test_bad_formats_are_one_line_and_a_non_zero_exit(
    capsys: pytest.CaptureFixture[str],
    describe: Path,
    body: dict,
    options: list[str],
    message: str,
) -> None:
    code, out, err = predict_on(capsys, describe, body, *options)

    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def test_chat_params_in_the_body_and_on_the_command_line(
    capsys: pytest.CaptureFixture[str], echo_package: Path
) -> None:
    body = {**REQUEST, "params": {"max_tokens": 4}}

    _, from_body, _ = predict_on(capsys, echo_package, body)
    _, overridden, _ = predict_on(capsys, echo_package, body, "--params", '{"max_tokens": 7}')

    assert json.loads(from_body)["choices"][0]["message"]["content"].endswith("(max_tokens=4)")
    assert json.loads(overridden)["choices"][0]["message"]["content"].endswith("(max_tokens=7)")


def test_chat_request_wrapped_in_inputs_with_stream_true_streams(
    capsys: pytest.CaptureFixture[str], echo_package: Path
) -> None:
    code, out, _ = predict_on(capsys, echo_package, {"inputs": REQUEST, "stream": True})

    assert code == 0
    assert [json.loads(line)["choices"][0]["delta"]["content"] for line in out.splitlines()] == [
        "hello",
        "there",
    ]


def test_chat_model_without_messages_says_what_to_send(
    capsys: pytest.CaptureFixture[str], echo_package: Path
) -> None:
    code, out, err = predict_on(capsys, echo_package, {"dataframe_records": [{"a": 1}]})

    assert code == 1 and out == ""
    assert err.startswith("error: This is a chat model: send the chat request itself, e.g. ")


def test_completions_model_takes_a_prompt(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shout = saved_from_code(tmp_path, "shout", SHOUT_CODE, {"prompt": "a", "max_tokens": 2})

    code, out, _ = predict_on(capsys, shout, {"prompt": ["hey you", "ok"], "max_tokens": 3})
    _, streamed, _ = predict_on(capsys, shout, {"prompt": "hey you", "stream": True})
    bad, _, err = predict_on(capsys, shout, {"messages": REQUEST["messages"]})

    reply = json.loads(out)
    assert code == 0 and reply["object"] == "text_completion"
    assert [c["text"] for c in reply["choices"]] == ["HEY", "OK"]
    chunks = [json.loads(line) for line in streamed.splitlines()]
    assert [c["choices"][0]["text"] for c in chunks if c["choices"]] == ["HEY YOU"]
    assert bad == 1 and err.startswith('error: This is a completions model: send {"prompt"')


def test_input_from_a_pipe(tmp_path: Path, echo_package: Path) -> None:
    """``-i <(echo '{...}')`` hands the CLI a pipe, not a regular file."""
    import os
    import subprocess

    read_end, write_end = os.pipe()
    os.write(write_end, json.dumps(REQUEST).encode())
    os.close(write_end)
    cli = Path(sys.executable).parent / "modelport"
    result = subprocess.run(
        [str(cli), "predict", "-m", str(echo_package), "-i", f"/dev/fd/{read_end}"],
        pass_fds=(read_end,),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    os.close(read_end)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "echo"
