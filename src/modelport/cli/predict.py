"""``modelport predict -m URI -i input.json [--params JSON] [--stream]``.

The input is what ``POST /invocations`` takes (:mod:`modelport.scoring`): the chat request for a
chat model, ``{"prompt": ...}`` for a completions model, and for any other PythonModel one of
``dataframe_split``/``dataframe_records``/``instances``/``inputs`` (answered, as by
``mlflow models predict``, with ``{"predictions": ...}``) or any other JSON value, passed to
``predict`` as it is (answered with the bare result).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from modelport import jsonbody
from modelport.errors import InvalidRequestError
from modelport.scoring import INPUT_FORMATS, json_type, parse_invocation, to_jsonable


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="run a model on a JSON input and print the result",
        description=(
            "Run a model on a JSON input, as POST /invocations does: the chat request for a chat "
            "model, {prompt, ...} for a completions model, one of "
            f'{", ".join(INPUT_FORMATS)} (answered as {{"predictions": ...}}) or any JSON value '
            "for other models."
        ),
    )
    parser.add_argument("-m", "--model-uri", required=True, help="package path or URI")
    parser.add_argument(
        "-i", "--input", required=True, help="JSON input file ('-' reads standard input)"
    )
    parser.add_argument(
        "--params", default=None, help="params as a JSON object (merged over the input's params)"
    )
    parser.add_argument(
        "--stream", action="store_true", help='print chunks as they come (or "stream": true)'
    )
    parser.set_defaults(func=run)


def _read_json(text: str, what: str) -> Any:
    return jsonbody.loads(text, what)


def _read_input(name: str) -> Any:
    if name == "-":
        return _read_json(sys.stdin.read(), "standard input")
    path = Path(name)
    if path.is_dir():
        raise InvalidRequestError(f"input '{path}' is a directory; give a JSON file or '-'")
    try:  # not only regular files: `-i <(echo '{...}')` gives a pipe
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidRequestError(f"input file '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"input file '{path}' cannot be read: {exc}") from None
    return _read_json(text, f"input file '{path}'")


def _read_params(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    params = _read_json(text, "--params")
    if not isinstance(params, dict):
        raise InvalidRequestError(
            f"--params must be a JSON object, e.g. '{{\"max_tokens\": 5}}', got a JSON "
            f"{json_type(params)}"
        )
    return params


def _is_scoring_body(data: Any, task: str | None) -> bool:
    """Whether the input is in the scoring protocol: any object for an LLM task, an object with
    one of the input-format keys for other models."""
    if not isinstance(data, Mapping):
        return False
    return task is not None or any(key in data for key in INPUT_FORMATS)


def _with_params(body: Mapping[str, Any], params: dict[str, Any] | None) -> Mapping[str, Any]:
    """``--params`` merged over the body's own ``params`` (a bad one is left for the parser)."""
    given = body.get("params")
    if not params or not (given is None or isinstance(given, Mapping)):
        return body
    return {**body, "params": {**(given or {}), **params}}


def _print(value: Any, *, indent: int | None) -> None:
    print(json.dumps(to_jsonable(value), indent=indent, ensure_ascii=False), flush=True)


def _print_stream(chunks: Iterable[Any]) -> None:
    for chunk in chunks:
        _print(chunk, indent=None)


def run(args: argparse.Namespace) -> int:
    from modelport.package.load import load_model

    data = _read_input(args.input)
    params = _read_params(args.params)
    model = load_model(args.model_uri)
    if not _is_scoring_body(data, model.task):
        # A custom model's own JSON (or a non-object for a chat model, which it refuses).
        if args.stream:
            _print_stream(model.predict_stream(data, params))
        else:
            _print(model.predict(data, params), indent=2)
        return 0
    invocation = parse_invocation(_with_params(data, params), model.task)
    stream = args.stream or invocation.stream
    if invocation.request is not None:  # chat / completions: one response object, or chunks
        if stream:
            _print_stream(model.predict_stream(invocation.request))
        else:
            _print(model.predict(invocation.request), indent=2)
    elif stream:
        _print_stream(model.predict_stream(invocation.data, invocation.params))
    else:
        _print({"predictions": model.predict(invocation.data, invocation.params)}, indent=2)
    return 0
