"""Running the app under uvicorn, with a graceful shutdown.

On SIGTERM or SIGINT the server drains: new requests get 503, requests under way run to their
end for at most ``drain_timeout`` seconds. Then the ones still running are cut: a request not
answered yet gets a 503 (``code: shutting_down``), an open stream an SSE error event of that
type, and each generation is cancelled. Once they have answered (at most ``CUT_GRACE`` seconds
later) uvicorn closes the connections and the process exits 0. A second signal stops at once.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn
from fastapi import FastAPI

from modelport.errors import InvalidRequestError
from modelport.serving.routes.common import AppContext

log = logging.getLogger("modelport.serving")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# After the cut, how long the cut requests have to send their last bytes (a stream's step in
# progress completes first: one engine step).
CUT_GRACE = 2.0


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one); errors say what to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InvalidRequestError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port or --host"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class QuietServer(uvicorn.Server):
    """A uvicorn server that stops on SIGINT/SIGTERM and exits 0: it does not re-raise the
    signal after shutting down, as uvicorn does (which ends the process by that signal)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class GracefulServer(QuietServer):
    """A uvicorn server that drains before it stops, and exits without re-raising the signal."""

    def __init__(self, config: uvicorn.Config, app: FastAPI, drain_timeout: float) -> None:
        super().__init__(config)
        self._context: AppContext = app.state.modelport
        self.drain_timeout = drain_timeout
        self._drain_started: float | None = None
        self.on_ready: Callable[[], None] | None = None
        self.load_failed = False
        self._announced = False

    def begin_drain(self) -> None:
        if self._drain_started is None:
            self._drain_started = time.monotonic()
            self._context.state.draining = True
            log.warning(
                "shutting down: %d request(s) under way, waiting up to %gs",
                self._context.state.active,
                self.drain_timeout,
            )

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_started is not None:  # second signal: stop now
            self.should_exit = True
            self.force_exit = True
            return
        self.begin_drain()

    async def on_tick(self, counter: int) -> bool:
        models = self._context.models
        if models.error is not None and not self.load_failed:
            self.load_failed = True
            self.should_exit = True
        if models.ready and not self._announced:
            self._announced = True
            if self.on_ready is not None:
                self.on_ready()
        if self._drain_started is not None and not self.should_exit:
            waited = time.monotonic() - self._drain_started
            active = self._context.state.active
            shutdown = self._context.runtime.shutdown
            if active == 0 or waited >= self.drain_timeout + CUT_GRACE:
                self.should_exit = True
            elif waited >= self.drain_timeout and not shutdown.cut_called:
                log.warning(
                    "shutdown timeout: %d request(s) still running get a 503 / an error event",
                    active,
                )
                shutdown.cut()
        return await super().on_tick(counter)


def make_server(
    app: FastAPI, *, drain_timeout: float = 30.0, log_level: str = "info"
) -> GracefulServer:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,  # modelport.access logs each request with its id
        # Our drain has ended every request before uvicorn stops; this only bounds the close
        # of connections that are still open (keep-alive, slow readers).
        timeout_graceful_shutdown=3,
        log_config=None,
        lifespan="on",
    )
    return GracefulServer(config, app, drain_timeout)


def run(server: GracefulServer, sock: socket.socket) -> int:
    """Serve on ``sock`` until a signal (0) or a model that fails to load (1)."""
    server.run(sockets=[sock])
    return 1 if server.load_failed else 0
