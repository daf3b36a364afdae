"""The python flavor end to end: what users write, as the tutorials they arrive with show it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import openai.types.chat as oai_chat
import pandas as pd
import pytest

import modelport
from modelport import (
    ChatModel,
    ColSpec,
    CompletionModel,
    Context,
    ParamSchema,
    ParamSpec,
    PythonModel,
    Schema,
)
from modelport.errors import InvalidRequestError, PackageError
from modelport.flavors.python import UnsafePickleWarning
from modelport.types import ChatCompletionResponse, ChatMessage, ChatParams, CompletionResponse

HELLO = {"messages": [{"role": "user", "content": "Hello there"}]}

ECHO_CODE = """
from modelport import ChatModel, set_model
from modelport.types import ChatCompletionChunk, ChatCompletionResponse


class Echo(ChatModel):
    def predict(self, context, messages, params):
        text = " | ".join(f"{m.role}: {m.text}" for m in messages)
        return ChatCompletionResponse(
            model="echo",
            choices=[{"index": 0, "message": {"role": "assistant", "content": text}}],
            usage={"prompt_tokens": len(messages), "completion_tokens": 1},
        )

    def predict_stream(self, context, messages, params):
        for word in messages[-1].text.split():
            yield ChatCompletionChunk(model="echo", choices=[{"delta": {"content": word + " "}}])
        yield ChatCompletionChunk(model="echo", choices=[{"delta": {}, "finish_reason": "stop"}])


set_model(Echo())
"""


def load_quietly(path: Path) -> modelport.LoadedModel:
    with pytest.warns(UnsafePickleWarning):
        return modelport.load_model(path)


# --- Done when 1: an echo chat model, saved, loaded, predicted, streamed -----------------------


def test_echo_chat_model_saved_loaded_predicted_and_streamed(tmp_path: Path) -> None:
    (tmp_path / "echo.py").write_text(ECHO_CODE)
    modelport.save_model(tmp_path / "echo", python_model=tmp_path / "echo.py")
    loaded = modelport.load_model(tmp_path / "echo")
    conversation = {
        "messages": [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Hello there"},
        ]
    }

    response = loaded.predict(conversation)
    chunks = list(loaded.predict_stream(conversation))

    parsed = oai_chat.ChatCompletion.model_validate(response)
    assert parsed.choices[0].message.content == "system: Be kind. | user: Hello there"
    assert loaded.metadata.streamable
    streamed = [oai_chat.ChatCompletionChunk.model_validate(chunk) for chunk in chunks]
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == "Hello there "
    assert streamed[-1].choices[0].finish_reason == "stop"


# --- Done when 2: custom_inputs, max_tokens, custom_outputs -----------------------------------


class SeededModel(ChatModel):
    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        seed = (params.custom_inputs or {}).get("seed", "none")
        words = messages[-1].text.split()[: params.max_tokens or 100]
        return ChatCompletionResponse(
            model="seeded",
            choices=[{"index": 0, "message": {"role": "assistant", "content": " ".join(words)}}],
            custom_outputs={"seed_used": seed, "temperature": params.temperature},
        )


def test_custom_inputs_and_max_tokens_in_custom_outputs_out(save_and_load: Any) -> None:
    loaded = save_and_load(SeededModel())

    out = loaded.predict(
        {
            "messages": [{"role": "user", "content": "one two three four"}],
            "max_tokens": 2,
            "temperature": 0.2,
            "custom_inputs": {"seed": "abc"},
        }
    )

    assert out["choices"][0]["message"]["content"] == "one two"
    assert out["custom_outputs"] == {"seed_used": "abc", "temperature": 0.2}
    assert oai_chat.ChatCompletion.model_validate(out).choices[0].message.content == "one two"


# --- Done when 3 and DESIGN: models-from-code with an artifact and a config file --------------


def test_models_from_code_with_artifact_and_config_file(tmp_path: Path) -> None:
    (tmp_path / "greeting.txt").write_text("Bonjour")
    (tmp_path / "config.yaml").write_text("punctuation: '!'\nrepeat: 2\n")
    (tmp_path / "greeter.py").write_text(
        "from pathlib import Path\n"
        "from modelport import ChatModel, set_model\n"
        "from modelport.types import ChatCompletionResponse\n"
        "class Greeter(ChatModel):\n"
        "    def load_context(self, context):\n"
        "        self.greeting = Path(context.artifacts['greeting']).read_text()\n"
        "        self.config = context.model_config\n"
        "    def predict(self, context, messages, params):\n"
        "        text = (self.greeting + self.config['punctuation']) * self.config['repeat']\n"
        "        return ChatCompletionResponse(choices=[{'index': 0, 'message': "
        "{'role': 'assistant', 'content': text}}])\n"
        "set_model(Greeter())\n"
    )

    manifest = modelport.save_model(
        tmp_path / "greeter",
        python_model=str(tmp_path / "greeter.py"),
        artifacts={"greeting": str(tmp_path / "greeting.txt")},
        model_config=str(tmp_path / "config.yaml"),
        input_example={"messages": [{"role": "user", "content": "Hi"}]},
    )
    (tmp_path / "greeting.txt").unlink()
    (tmp_path / "config.yaml").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # code, not a pickle: no warning
        loaded = modelport.load_model(tmp_path / "greeter")

    assert "pickle" not in manifest.flavor_config
    assert loaded.predict(HELLO)["choices"][0]["message"]["content"] == "Bonjour!Bonjour!"


# --- Done when 4: a PythonModel with a signature and params -----------------------------------


class Candidates(PythonModel):
    def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
        prompt = model_input["prompt"][0]
        return {
            "candidates": [
                f"{prompt} (temperature={params['temperature']}, max_tokens={params['max_tokens']})"
            ]
        }


def test_python_model_with_signature_params_sees_given_and_default_values(
    tmp_path: Path,
) -> None:
    signature = modelport.Signature(
        inputs=Schema([ColSpec("string", "prompt")]),
        outputs=Schema([ColSpec("string", "candidates")]),
        params=ParamSchema(
            [ParamSpec("temperature", "float", 0.1), ParamSpec("max_tokens", "int", 1000)]
        ),
    )
    modelport.save_model(tmp_path / "cand", python_model=Candidates(), signature=signature)
    loaded = load_quietly(tmp_path / "cand")

    out = loaded.predict({"prompt": ["What is ML?"]}, params={"temperature": 0.6})

    assert out == {"candidates": ["What is ML? (temperature=0.6, max_tokens=1000)"]}
    assert loaded.metadata.signature == signature


# --- Done when 5: bad models and bad messages -------------------------------------------------


def test_a_chat_model_returning_a_plain_dict_fails_to_save(tmp_path: Path) -> None:
    class PlainDict(ChatModel):
        def predict(self, context: Context, messages: Any, params: Any) -> Any:
            return {"choices": [{"message": {"role": "assistant", "content": "hi"}}]}

    with pytest.raises(PackageError) as caught:
        modelport.save_model(tmp_path / "bad", python_model=PlainDict())

    assert caught.value.message.startswith(
        "PlainDict.predict() must return a ChatCompletionResponse, got dict {'choices'"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        ({"messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({**HELLO, "temperature": 5}, "temperature"),
    ],
)
def test_bad_messages_raise_the_projects_error_naming_the_field(
    save_and_load: Any, request_body: dict[str, Any], param: str
) -> None:
    loaded = save_and_load(SeededModel())

    with pytest.raises(InvalidRequestError) as caught:
        loaded.predict(request_body)

    assert caught.value.param == param
    assert f"'{param}'" in caught.value.message


# --- DESIGN: what users will type -------------------------------------------------------------


def test_a_pythonmodel_saved_with_a_request_and_params_pair(tmp_path: Path) -> None:
    class Wrapper(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            messages = model_input["messages"][0]
            return {"reply": f"{messages[-1]['content']} x{params['max_tokens']}"}

    request = {"messages": [{"role": "user", "content": "What is MLflow?"}]}
    modelport.save_model(
        tmp_path / "wrapper",
        python_model=Wrapper(),
        input_example=(request, {"max_tokens": 50, "temperature": 0.7}),
    )
    loaded = load_quietly(tmp_path / "wrapper")

    out = loaded.predict(
        data={"messages": [{"role": "user", "content": "Hi"}]}, params={"max_tokens": 25}
    )

    assert out == {"reply": "Hi x25"}
    assert "'max_tokens': long (default: 50), 'temperature': double (default: 0.7)" in repr(
        loaded.metadata.signature
    )


def test_dataframe_input_example_with_prompt_indexing(tmp_path: Path) -> None:
    class FirstPrompt(PythonModel):
        def predict(self, context: Context, model_input: Any, params: Any = None) -> Any:
            return [model_input["prompt"][0].upper()]

    modelport.save_model(
        tmp_path / "first",
        python_model=FirstPrompt(),
        input_example=pd.DataFrame({"prompt": ["hello"]}),
    )
    loaded = load_quietly(tmp_path / "first")

    assert loaded.predict(pd.DataFrame({"prompt": ["from a frame"]})) == ["FROM A FRAME"]
    assert loaded.predict({"prompt": ["from columns"]}) == ["FROM COLUMNS"]
    assert loaded.metadata.signature is not None
    assert repr(loaded.metadata.signature).startswith("inputs: \n  ['prompt': string (required)]")


def test_a_chat_model_wrapping_another_package_handed_in_as_an_artifact(tmp_path: Path) -> None:
    (tmp_path / "echo.py").write_text(ECHO_CODE)
    modelport.save_model(tmp_path / "inner-chat", python_model=tmp_path / "echo.py")
    (tmp_path / "wrapper.py").write_text(
        "import modelport\n"
        "from modelport import ChatModel, set_model\n"
        "from modelport.types import ChatCompletionResponse\n"
        "class Polite(ChatModel):\n"
        "    def load_context(self, context):\n"
        "        self.inner = modelport.load_model(context.artifacts['chat_model_path'])\n"
        "    def predict(self, context, messages, params):\n"
        "        out = self.inner.predict({'messages': [m.to_dict() for m in messages],\n"
        "                                  'max_tokens': params.max_tokens})\n"
        "        text = out['choices'][0]['message']['content'] + ' (politely)'\n"
        "        return ChatCompletionResponse(\n"
        "            id='chatcmpl-polite-1', model='polite',\n"
        "            choices=[{'index': 0, 'message': {'role': 'assistant', 'content': text}}],\n"
        "            usage={'prompt_tokens': 100, 'completion_tokens': 7})\n"
        "set_model(Polite())\n"
    )

    modelport.save_model(
        tmp_path / "polite",
        python_model=tmp_path / "wrapper.py",
        artifacts={"chat_model_path": str(tmp_path / "inner-chat")},
    )
    loaded = modelport.load_model(tmp_path / "polite")
    out = loaded.predict(HELLO)

    assert out["id"] == "chatcmpl-polite-1"
    assert out["choices"][0]["message"]["content"] == "user: Hello there (politely)"
    assert out["usage"] == {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107}
    assert (tmp_path / "polite" / "artifacts" / "chat_model_path" / "modelport.yaml").is_file()


def test_the_loaded_signature_prints_readably(tmp_path: Path) -> None:
    (tmp_path / "echo.py").write_text(ECHO_CODE)
    modelport.save_model(tmp_path / "echo", python_model=tmp_path / "echo.py")

    text = repr(modelport.load_model(tmp_path / "echo").metadata.signature)

    assert text.startswith("inputs: \n  ['messages': Array({role: string (required)")
    assert "\noutputs: \n  ['id': string (required)" in text
    assert text.endswith("params: \n  None\n")


TUTORIAL_MODEL = '''
from modelport import ChatModel, set_model
from modelport.types import ChatChoice, ChatCompletionResponse, ChatMessage


class FakeOllamaClient:
    """Stands in for the remote LLM service of the tutorial (outside the project)."""

    def chat(self, model, messages, options):
        return {"message": {"content": f"{messages[-1]['content']} | options={options}"}}


class OllamaModel(ChatModel):
    def __init__(self):
        self.model_name = None
        self.client = None

    def load_context(self, context):
        self.model_name = "mistral:7b"
        self.client = FakeOllamaClient()

    def _prepare_options(self, params):
        options = {}
        if params:
            if params.max_tokens is not None:
                options["num_predict"] = params.max_tokens
            if params.temperature is not None:
                options["temperature"] = params.temperature
            if params.top_p is not None:
                options["top_p"] = params.top_p
            if params.stop is not None:
                options["stop"] = params.stop
            if params.custom_inputs is not None:
                options["seed"] = int(params.custom_inputs.get("seed", None))
        return options

    def predict(self, context, messages, params=None):
        ollama_messages = [{"role": msg.role, "content": msg.content} for msg in messages]
        options = self._prepare_options(params)
        response = self.client.chat(
            model=self.model_name, messages=ollama_messages, options=options
        )
        return ChatCompletionResponse(
            choices=[
                ChatChoice(
                    index=0,
                    message=ChatMessage(role="assistant", content=response["message"]["content"]),
                )
            ],
            model=self.model_name,
        )


set_model(OllamaModel())
'''


def test_the_mlflow_chat_model_tutorial_as_written(tmp_path: Path) -> None:
    (tmp_path / "ollama_model.py").write_text(TUTORIAL_MODEL)
    modelport.save_model(
        tmp_path / "ollama",
        python_model=str(tmp_path / "ollama_model.py"),
        input_example={"messages": [{"role": "user", "content": "Hello, how are you?"}]},
    )
    loaded = modelport.load_model(tmp_path / "ollama")

    plain = loaded.predict({"messages": [{"role": "user", "content": "Hi"}]})
    seeded = loaded.predict(
        data={
            "messages": [{"role": "user", "content": "What is MLflow?"}],
            "max_tokens": 25,
            "custom_inputs": {"seed": "321"},
        }
    )

    assert plain["choices"][0]["message"]["content"] == "Hi | options={'temperature': 1.0}"
    assert seeded["choices"][0]["message"]["content"] == (
        "What is MLflow? | options={'num_predict': 25, 'temperature': 1.0, 'seed': 321}"
    )
    assert seeded["model"] == "mistral:7b"


def test_a_signature_from_predicts_type_hints(tmp_path: Path) -> None:
    (tmp_path / "upper.py").write_text(
        "from __future__ import annotations\n"
        "from modelport import PythonModel, set_model\n"
        "class Upper(PythonModel):\n"
        "    def predict(self, context, model_input: list[str], params=None) -> list[str]:\n"
        "        return [text.upper() for text in model_input]\n"
        "set_model(Upper())\n"
    )

    modelport.save_model(tmp_path / "upper", python_model=tmp_path / "upper.py")
    loaded = modelport.load_model(tmp_path / "upper")

    assert loaded.predict(["a", "b"]) == ["A", "B"]
    assert repr(loaded.metadata.signature).startswith(
        "inputs: \n  [Array(string)]\noutputs: \n  [Array(string)]\n"
    )
    with pytest.raises(InvalidRequestError, match=r"input\[0\] expects string, got int 1"):
        loaded.predict([1])


def test_no_type_hints_and_no_example_means_no_signature(save_and_load: Any) -> None:
    class Untyped(PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input

    assert save_and_load(Untyped()).metadata.signature is None


class Upper(CompletionModel):
    def predict(self, context: Context, prompts: list[str], params: object) -> CompletionResponse:
        return CompletionResponse(
            choices=[{"index": i, "text": p.upper()} for i, p in enumerate(prompts)]
        )


def test_a_completions_model_saves_without_an_input_example(save_and_load: Any) -> None:
    loaded = save_and_load(Upper())

    assert loaded.task == "llm/v1/completions"
    assert [c.text for c in loaded.complete({"prompt": ["hi", "yo"]}).choices] == ["HI", "YO"]
