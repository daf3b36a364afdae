"""A custom PythonModel with a signature and inference params.

Run it from anywhere: ``python examples/python_model_with_params.py``.

Part 1 writes the signature by hand (inputs ``{"prompt": string}``, outputs
``{"candidates": string}``, params ``temperature`` = 0.1 and ``max_tokens`` = 1000). Part 2 lets
modelport infer it from an ``input_example=(request, params)`` pair. In both, params the caller
leaves out get their defaults, and unknown params are refused.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import modelport
from modelport import ColSpec, Context, ParamSchema, ParamSpec, PythonModel, Schema, Signature
from modelport.errors import InvalidRequestError
from modelport.flavors.python import UnsafePickleWarning


class CandidateModel(PythonModel):
    def predict(
        self, context: Context, model_input: Any, params: dict[str, Any] | None = None
    ) -> dict[str, list[str]]:
        assert params is not None  # the signature has params: they always arrive, defaults filled
        prompt = model_input["prompt"][0]  # a dict of lists (or a DataFrame if one was sent)
        return {
            "candidates": [
                f"{prompt!r} answered with temperature={params['temperature']} "
                f"and max_tokens={params['max_tokens']}"
            ]
        }


class ChatWrapper(PythonModel):
    """Takes an OpenAI-style request and echoes the settings it was called with."""

    def predict(self, context: Context, model_input: Any, params: Any = None) -> dict[str, Any]:
        messages = model_input["messages"][0]
        return {"reply": f"{messages[-1]['content']} (max_tokens={params['max_tokens']})"}


def load_trusted(path: Path) -> modelport.LoadedModel:
    # These models are saved as instances (cloudpickle): loading says that it runs code.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnsafePickleWarning)
        model = modelport.load_model(path)
    print("loading a pickle warns ->", caught[0].category.__name__)
    return model


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # --- 1. a signature written by hand --------------------------------------------------
        signature = Signature(
            inputs=Schema([ColSpec("string", "prompt")]),
            outputs=Schema([ColSpec("string", "candidates")]),
            params=ParamSchema(
                [ParamSpec("temperature", "float", 0.1), ParamSpec("max_tokens", "int", 1000)]
            ),
        )
        modelport.save_model(
            Path(tmp) / "candidates", python_model=CandidateModel(), signature=signature
        )
        model = load_trusted(Path(tmp) / "candidates")
        print(model.metadata.signature)
        out = model.predict({"prompt": ["What is ML?"]}, params={"temperature": 0.6})
        print("predict ->", out["candidates"][0])
        try:
            model.predict({"prompt": ["What is ML?"]}, params={"top_k": 3})
        except InvalidRequestError as exc:
            print("unknown param ->", exc.message)

        # --- 2. a signature inferred from (request, params) ----------------------------------
        request = {"messages": [{"role": "user", "content": "What is MLflow?"}]}
        modelport.save_model(
            Path(tmp) / "wrapper",
            python_model=ChatWrapper(),
            input_example=(request, {"max_tokens": 50, "temperature": 0.7}),
        )
        wrapper = load_trusted(Path(tmp) / "wrapper")
        print(wrapper.metadata.signature)
        print("default ->", wrapper.predict(data=request)["reply"])
        print("override ->", wrapper.predict(data=request, params={"max_tokens": 25})["reply"])


if __name__ == "__main__":
    main()
