"""The authoring API: what a developer subclasses.

The whole contract::

    class PythonModel:
        def load_context(self, context: Context) -> None          # optional
        def predict(self, context, model_input, params=None)       # required
        def predict_stream(self, context, model_input, params=None) # optional, yields

    class ChatModel(PythonModel):
        def predict(self, context, messages: list[ChatMessage], params: ChatParams)
            -> ChatCompletionResponse
        def predict_stream(self, context, messages, params) -> Iterator[ChatCompletionChunk]

``async def`` versions are accepted for ``predict`` and ``predict_stream``, and ``context`` may be
left out of their signatures. Optional hooks: ``stats() -> dict[str, float]`` (counters such
as ``tokens_generated``, ``running``, ``waiting`` that the server exports at ``/metrics``),
``engine_info() -> dict[str, str]`` (how the model is run, e.g. ``{"path": "packed", "reason":
...}``, shown by ``/v1/models``) and ``close()`` (release threads and memory;
``LoadedModel.close`` calls it). ``set_model(obj)`` marks the model of a models-from-code file.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.errors import PackageError

_NOT_IMPLEMENTED_MARK = "__modelport_not_implemented__"


@dataclass
class Context:
    """What ``load_context`` and ``predict`` receive.

    ``artifacts`` maps each artifact name to its local path inside the loaded package;
    ``model_config`` is the dict given at save time (empty when none was).
    """

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


def _not_implemented(fn: Callable[..., Any]) -> Callable[..., Any]:
    setattr(fn, _NOT_IMPLEMENTED_MARK, True)
    return fn


class PythonModel:
    """Any model: ``predict(context, model_input, params=None)``, optionally streamed."""

    def load_context(self, context: Context) -> None:
        """Load what ``predict`` needs (weights, clients…) from ``context.artifacts``."""

    # ``params`` has no default here so that subclasses may type it as they like (``ChatParams``,
    # ``dict | None = None``…) and still pass mypy's override check.
    def predict(self, context: Context, model_input: Any, params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement predict()")

    @_not_implemented
    def predict_stream(self, context: Context, model_input: Any, params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement predict_stream()")


class ChatModel(PythonModel):
    """A chat model: OpenAI messages and params in, one ``ChatCompletionResponse`` out.

    Its signature and task (``llm/v1/chat``) are set automatically when it is saved.
    """

    def predict(self, context: Context, messages: Any, params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement predict()")

    @_not_implemented
    def predict_stream(self, context: Context, messages: Any, params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement predict_stream()")


class CompletionModel(PythonModel):
    """A completions model: prompts and ``CompletionParams`` in, a ``CompletionResponse`` out.

    Task ``llm/v1/completions``; the transformers flavor builds these.
    """

    def predict(self, context: Context, prompts: Any, params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement predict()")

    @_not_implemented
    def predict_stream(self, context: Context, prompts: Any, params: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement predict_stream()")


def implements_stream(model: PythonModel) -> bool:
    """True only if the model's class really overrides ``predict_stream``."""
    method = getattr(type(model), "predict_stream", None)
    return method is not None and not getattr(method, _NOT_IMPLEMENTED_MARK, False)


_CONTEXT_NAMES = ("context", "ctx", "_context")


def _positional(method: Callable[..., Any]) -> tuple[list[inspect.Parameter], bool]:
    parameters = list(inspect.signature(method).parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return positional, any(p.kind == p.VAR_POSITIONAL for p in parameters)


def takes_context(method: Callable[..., Any]) -> bool:
    """Whether a bound ``predict``/``predict_stream`` wants ``context`` as its first argument.

    ``predict(self, messages, params)`` leaves it out; ``predict(self, context, ...)`` keeps it.
    """
    positional, var_positional = _positional(method)
    if positional and positional[0].name in _CONTEXT_NAMES:
        return True
    return len(positional) >= 3 or (var_positional and not positional)


def call_with_context(method: Callable[..., Any], context: Context, *args: Any) -> Any:
    """Call ``predict``/``predict_stream`` with or without ``context`` as its signature says.

    ``args`` is ``(input, params)``; a method without a ``params`` argument (MLflow's older
    ``predict(self, context, model_input)``) is called without it.
    """
    positional, var_positional = _positional(method)
    with_context = takes_context(method)
    call_args = (context, *args) if with_context else args
    if not var_positional and len(call_args) > len(positional):
        call_args = call_args[: max(len(positional), 1 + with_context)]
    return method(*call_args)


# --- models from code -------------------------------------------------------------------------

_code_model = threading.local()


def set_model(model: Any) -> None:
    """Mark ``model`` as the model of this file (models-from-code).

    A ``.py`` file that defines a model and ends with ``set_model(MyModel())`` can be passed as
    ``python_model="file.py"`` to ``save_model``/``log_model``: it is saved as code, not pickled.
    """
    if not isinstance(model, PythonModel):
        raise PackageError(
            f"set_model() needs a PythonModel or ChatModel instance, got {type(model).__name__}"
        )
    _code_model.value = model


def load_model_from_code(path: str | Path) -> Any:
    """Run a models-from-code file and return the object it passed to ``set_model``."""
    import importlib.util
    import sys

    path = Path(path)
    if not path.is_file() or path.suffix != ".py":
        raise PackageError(f"python_model path must be an existing .py file, got '{path}'")
    module_name = f"_modelport_code_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PackageError(f"cannot import model code from '{path}'")
    module = importlib.util.module_from_spec(spec)
    _code_model.value = None
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise PackageError(f"running model code '{path.name}' failed: {exc!r}") from exc
    model = getattr(_code_model, "value", None)
    _code_model.value = None
    if model is None:
        raise PackageError(
            f"'{path.name}' did not call modelport.set_model(...): end the file with "
            "set_model(YourModel())"
        )
    return model
