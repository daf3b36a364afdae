"""``modelport predict -m URI -i input.json [--params JSON] [--stream]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from modelport.errors import InvalidRequestError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "predict", help="run a model on a JSON input and print the result"
    )
    parser.add_argument("-m", "--model-uri", required=True, help="package path or URI")
    parser.add_argument(
        "-i", "--input", required=True, help="JSON input file ('-' reads standard input)"
    )
    parser.add_argument("--params", default=None, help="params as a JSON object")
    parser.add_argument("--stream", action="store_true", help="print chunks as they come")
    parser.set_defaults(func=run)


def _read_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"{what} is not valid JSON: {exc}") from None


def _jsonable(value: Any) -> Any:
    """JSON for what a custom model may return: DataFrames as records, arrays as lists."""
    if type(value).__name__ == "DataFrame" and hasattr(value, "to_dict"):
        return value.to_dict(orient="records")
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return str(value)


def run(args: argparse.Namespace) -> int:
    from modelport.package.load import load_model

    if args.input == "-":
        data = _read_json(sys.stdin.read(), "standard input")
    else:
        path = Path(args.input)
        if not path.is_file():
            raise InvalidRequestError(f"input file '{path}' does not exist")
        data = _read_json(path.read_text(encoding="utf-8"), f"input file '{path}'")
    params = None
    if args.params is not None:
        params = _read_json(args.params, "--params")
        if not isinstance(params, dict):
            raise InvalidRequestError("--params must be a JSON object, e.g. '{\"max_tokens\": 5}'")
    model = load_model(args.model_uri)
    if args.stream:
        for chunk in model.predict_stream(data, params):
            print(json.dumps(chunk, ensure_ascii=False, default=_jsonable), flush=True)
    else:
        result = model.predict(data, params)
        print(json.dumps(result, indent=2, ensure_ascii=False, default=_jsonable))
    return 0
