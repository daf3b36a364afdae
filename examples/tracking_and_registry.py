"""Track two versions of a chat model, register them, ship the better one by alias.

Run it from anywhere: ``python examples/tracking_and_registry.py``. The tracking store (an
SQLite file and an artifact folder) lives in a temporary directory; without
``set_tracking_uri`` it would be ``./modelport.db`` and ``./modelport-artifacts/``.

This file is also the model's code: ``log_model(python_model=__file__)`` stores it (no pickle),
and each run passes its own ``model_config``.
"""

from __future__ import annotations

import tempfile

import modelport
from modelport import ChatModel, Context
from modelport.types import ChatCompletionResponse, ChatMessage, ChatParams


class Greeter(ChatModel):
    """Greets the user in the style its model_config asks for."""

    def load_context(self, context: Context) -> None:
        self.greeting = context.model_config.get("greeting", "Hello")

    def predict(
        self, context: Context, messages: list[ChatMessage], params: ChatParams
    ) -> ChatCompletionResponse:
        return ChatCompletionResponse(
            model="greeter",
            choices=[
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": f"{self.greeting}, {messages[-1].text}!",
                    },
                }
            ],
        )


modelport.set_model(Greeter())


def politeness(reply: str) -> float:
    """A toy evaluation: how many polite words the reply holds."""
    return float(sum(word in reply.lower() for word in ("good", "day", "dear", "welcome")))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as store:
        modelport.set_tracking_uri(store)
        modelport.set_experiment("greeter")

        for greeting in ("Hi", "Good day, dear"):
            with modelport.start_run(run_name=greeting.lower().replace(",", "").replace(" ", "-")):
                modelport.log_param("greeting", greeting)
                info = modelport.log_model(
                    "model",
                    python_model=__file__,
                    model_config={"greeting": greeting},
                    registered_model_name="greeter",
                )
                reply = modelport.load_model(info.model_uri).predict(
                    {"messages": [{"role": "user", "content": "Ada"}]}
                )["choices"][0]["message"]["content"]
                modelport.log_metric("politeness", politeness(reply))
                print(f"run {greeting!r}: {reply} -> version {info.registered_model_version}")

        best = modelport.search_runs(order_by=["metrics.politeness DESC"])[0]
        print(
            f"best run -> {best.info.run_name} (politeness {best.data.metrics['politeness']:.0f})"
        )

        client = modelport.TrackingClient()
        version = next(
            v for v in client.search_model_versions("greeter") if v.run_id == best.info.run_id
        )
        client.set_alias("greeter", "production", version.version)

        model = modelport.load_model("models:/greeter@production")
        answer = model.predict({"messages": [{"role": "user", "content": "Grace"}]})
        print(f"models:/greeter@production is version {version.version}")
        print("production says ->", answer["choices"][0]["message"]["content"])
        modelport.set_tracking_uri(None)
