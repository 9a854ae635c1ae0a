"""Serving the app with uvicorn: one config for every caller (WebSocket implementation with flow
control, small inbound WebSocket frames, keys redacted from the server's logs), in the foreground (CLI)
or in a thread (tests, benchmarks). Every caller goes through `server_for`, which refuses to listen off
loopback while a development key (core.settings.DEVELOPMENT_API_KEYS) is configured."""

from __future__ import annotations

import ipaddress
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from agents_sim.api.observability import install_key_redaction
from core.exceptions import RideshareError
from core.settings import DEVELOPMENT_API_KEYS, Settings

__all__ = ["BackgroundServer", "InsecureBindError", "check_bind", "server_for"]

# Clients send only tiny control messages (`{"type":"resync"}`) on the WebSocket.
WS_MAX_INBOUND_BYTES = 4096


class InsecureBindError(RideshareError):
    """The API would listen beyond this machine with a development key."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def check_bind(settings: Settings, host: str) -> None:
    """Raise InsecureBindError when `host` is not loopback and a configured API key is a development key."""
    if is_loopback(host):
        return
    configured = {key.get_secret_value() for key in (*settings.api_admin_keys, *settings.api_viewer_keys)}
    found = sorted(configured & set(DEVELOPMENT_API_KEYS))
    if found:
        raise InsecureBindError(
            f"refusing to listen on {host}: the development API key(s) {', '.join(found)} would let anyone who can reach "
            "this port read (viewer) or control (admin) the simulation. Set RIDESHARE_API_ADMIN_KEYS and RIDESHARE_API_VIEWER_KEYS "
            "to your own keys, or listen on 127.0.0.1.")


def server_for(app: FastAPI, *, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    check_bind(app.state.settings, host)
    # websockets-sansio waits for the socket to drain before the next send: a slow client blocks its
    # own sender (and its mailbox coalesces) instead of piling frames into the transport buffer.
    # uvicorn closes idle connections after 5 s by default: a client polling every 5 s (the status panel, a soak's
    # sampler) then sends into a connection the server is closing, and that request is lost (connection reset).
    config = uvicorn.Config(app, host=host, port=port, ws="websockets-sansio", log_level=log_level, lifespan="on",
                            ws_max_size=WS_MAX_INBOUND_BYTES, timeout_keep_alive=app.state.settings.api_keep_alive_s)
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
