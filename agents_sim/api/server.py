"""Serving the app with uvicorn: one config for every caller (WebSocket implementation with flow
control, keys redacted from the server's logs), in the foreground (CLI) or in a thread (tests, benchmarks)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from agents_sim.api.observability import install_key_redaction
from core.exceptions import RideshareError

__all__ = ["BackgroundServer", "server_for"]


def server_for(app: FastAPI, *, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    # websockets-sansio waits for the socket to drain before the next send: a slow client blocks its
    # own sender (and its mailbox coalesces) instead of piling frames into the transport buffer.
    config = uvicorn.Config(app, host=host, port=port, ws="websockets-sansio", log_level=log_level, lifespan="on")
    server = uvicorn.Server(config)
    install_key_redaction()  # after uvicorn.Config configured logging
    return server


class BackgroundServer:
    """`with BackgroundServer(app, port=...) as base_url:` serves the app in a thread until the block ends."""

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1", port: int, log_level: str = "warning") -> None:
        self.server = server_for(app, host=host, port=port, log_level=log_level)
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RideshareError(f"the API did not start on {self.base_url}; is the port free?")
            time.sleep(0.05)
        return self.base_url

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
