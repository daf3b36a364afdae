"""A chat model that says how many of its calls were ever running at once: each call holds
for ``custom_inputs["hold"]`` seconds (default 1) and answers with the most calls seen in
flight together so far (a sync model: each call has a thread of its own while it runs)."""

import threading
import time

from modelport import ChatModel, set_model
from modelport.types import ChatCompletionResponse


class GatheringChat(ChatModel):
    def __init__(self):
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def predict(self, context, messages, params):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(float((params.custom_inputs or {}).get("hold", 1)))
        with self.lock:
            self.running -= 1
            most = self.most
        return ChatCompletionResponse(
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": str(most)},
                    "finish_reason": "stop",
                }
            ]
        )


set_model(GatheringChat())
