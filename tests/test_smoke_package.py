from __future__ import annotations

from pathlib import Path

import modelport
from modelport.types import ChatCompletionResponse


class Echo(modelport.ChatModel):
    def predict(self, context, messages, params):
        return ChatCompletionResponse(
            model="echo",
            choices=[{"index": 0, "message": {"role": "assistant", "content": messages[-1].text}}],
        )


def test_chat_model_round_trips_through_a_package(tmp_path: Path) -> None:
    (tmp_path / "echo_model.py").write_text(
        "from modelport import ChatModel, set_model\n"
        "from modelport.types import ChatCompletionResponse\n"
        "class Echo(ChatModel):\n"
        "    def predict(self, context, messages, params):\n"
        "        return ChatCompletionResponse(model='echo', choices=[{'index': 0, 'message': "
        "{'role': 'assistant', 'content': messages[-1].text}}])\n"
        "set_model(Echo())\n"
    )
    modelport.save_model(tmp_path / "pkg", python_model=tmp_path / "echo_model.py")
    loaded = modelport.load_model(str(tmp_path / "pkg"))
    out = loaded.predict({"messages": [{"role": "user", "content": "hello"}]})
    assert out["choices"][0]["message"]["content"] == "hello"
    assert out["object"] == "chat.completion"
