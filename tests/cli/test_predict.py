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
