"""Server-Sent Events: ``data: {json}`` per chunk, ``data: [DONE]`` at the end.

An error after the stream has started cannot change the status any more: it is sent as one
``data: {"error": {...}}`` event (the OpenAI SDK raises it as ``APIError``) and the stream ends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from modelport.errors import ModelExecutionError, ModelportError
from modelport.scoring import to_jsonable
from modelport.serving.service import ChunkStream
from modelport.types._base import WireModel

log = logging.getLogger(__name__)
DONE = "data: [DONE]\n\n"


def encode_event(item: Any) -> str:
    data = item.to_dict() if isinstance(item, WireModel) else to_jsonable(item)
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def sse_events(
    stream: ChunkStream, request_id: str = "-", ended: dict[str, str] | None = None
) -> AsyncIterator[str]:
    """The SSE text of a started stream, ``[DONE]`` included, errors as an error event.

    ``ended`` gets ``{"error": code}`` when the stream ends with an error event (for the access
    log, whose status is the 200 sent before).
    """
    ended = ended if ended is not None else {}
    try:
        async for item in stream:
            yield encode_event(item)
    except ModelportError as exc:
        if exc.__cause__ is not None:
            log.error("[%s] the model failed mid-stream", request_id, exc_info=exc.__cause__)
        ended["error"] = exc.code or exc.error_type
        yield encode_event(exc.to_dict())
        return
    except Exception:
        log.exception("[%s] unexpected error mid-stream", request_id)
        safe = ModelExecutionError("The server failed while streaming the response")
        ended["error"] = safe.code or safe.error_type
        yield encode_event(safe.to_dict())
        return
    finally:
        await stream.aclose()
    yield DONE


class EventStreamResponse(StreamingResponse):
    """A streaming response that always closes its source: client gone, cancelled or done."""

    def __init__(self, stream: ChunkStream, request_id: str = "-") -> None:
        self._ended: dict[str, str] = {}
        super().__init__(
            sse_events(stream, request_id, self._ended),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if "error" in self._ended:  # the access log says how the stream ended
                scope.setdefault("state", {})["stream_error"] = self._ended["error"]
            with anyio.CancelScope(shield=True):
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
                await self._stream.aclose()
