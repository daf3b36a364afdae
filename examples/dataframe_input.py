"""A PythonModel saved with a pandas DataFrame as its input example.

Run it from anywhere: ``python examples/dataframe_input.py`` (needs pandas, an optional
dependency of modelport).

``model_input["prompt"][0]`` works inside ``predict`` whether the caller sends a DataFrame, a dict
of lists, a single-row dict or a list of records: modelport normalises them against the signature
inferred from the example (a DataFrame stays a DataFrame; everything else becomes a dict of lists).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

import modelport
from modelport import Context, PythonModel
from modelport.errors import InvalidRequestError


class FirstPromptModel(PythonModel):
    def predict(self, context: Context, model_input: Any, params: Any = None) -> list[str]:
        prompt = model_input["prompt"][0]
        return [f"{prompt.upper()} (got a {type(model_input).__name__})"]


modelport.set_model(FirstPromptModel())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "first-prompt"
        modelport.save_model(
            path,
            python_model=__file__,
            input_example=pd.DataFrame({"prompt": ["hello"], "weight": [0.5]}),
        )
        model = modelport.load_model(path)
        print(model.metadata.signature)
        print("DataFrame ->", model.predict(pd.DataFrame({"prompt": ["a frame"], "weight": [1.0]})))
        print("dict of lists ->", model.predict({"prompt": ["columns"], "weight": [1]}))
        print("one row ->", model.predict({"prompt": "one row", "weight": 2}))
        print("records ->", model.predict([{"prompt": "records", "weight": 3}]))
        try:
            model.predict({"prompt": [42], "weight": [1.0]})
        except InvalidRequestError as exc:
            print(f"wrong type -> {exc.message} (param: {exc.param})")


if __name__ == "__main__":
    main()
