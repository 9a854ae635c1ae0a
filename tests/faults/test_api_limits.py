"""The API's secure defaults, against the real app over HTTP with the real simulation runtime:

- the key is checked before the body is read (a client that announces a huge body and never sends it gets
  its 401/403 at once; before, the server sat waiting for the body);
- bodies are bounded (413, announced or streamed);
- mutating calls are rate-limited per key (429 with Retry-After), reads are not;
- WebSocket clients are capped (the next one is closed with 1013 until a slot frees);
- the development keys are refused when the server would listen off loopback (a clear startup error).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets
from typer.testing import CliRunner

from agents_sim.api import create_app
from agents_sim.api.server import BackgroundServer, InsecureBindError, server_for
from agents_sim.params import SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import NullSink
from core.settings import Settings, load_settings
from rideshare.cli import app as cli

pytestmark = pytest.mark.integration

ADMIN, VIEWER, OTHER_ADMIN = "limits-admin", "limits-viewer", "limits-admin-2"
MAX_BODY, BURST, WS_CLIENTS = 4096, 5, 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api_settings(settings: Settings, redis_service: object) -> Settings:
    return load_settings(topic_namespace=settings.topic_namespace, lake_uri=settings.lake_uri, api_admin_keys=f"{ADMIN},{OTHER_ADMIN}",
                         api_viewer_keys=VIEWER, api_max_body_bytes=MAX_BODY, api_mutations_burst=BURST, api_mutations_per_s=1.0,
                         api_max_ws_clients=WS_CLIENTS)


@pytest.fixture(scope="module")
def base_url(api_settings: Settings) -> Iterator[str]:
    runtime = SimulationRuntime(SimConfig(seed=8, drivers=20, riders=100), NullSink())
    app = create_app(api_settings, runtime, positions_source="simulation", worker_urls=[], frontend_dir=None)
    try:
        with BackgroundServer(app, port=_free_port()) as url:
            yield url
    finally:
        runtime.stop()


def _raw_request(base_url: str, head: str, *, timeout_s: float = 5.0) -> str:
    """Send only the request line and headers (no body) and return the status line the server answers."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(head.encode())
        try:
            return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
        except TimeoutError:
            return "no answer"


@pytest.mark.parametrize(("key", "status"), [(None, "401"), ("wrong", "401"), (VIEWER, "403")])
def test_the_key_is_checked_before_the_body_is_read(base_url: str, key: str | None, status: str) -> None:
    key_header = f"X-API-Key: {key}\r\n" if key else ""
    head = (f"POST /api/sim/drivers HTTP/1.1\r\nHost: test\r\n{key_header}Content-Type: application/json\r\n"
            f"Content-Length: {MAX_BODY - 1}\r\n\r\n")  # within the size limit, and never sent
    started = time.monotonic()
    answer = _raw_request(base_url, head)
    assert answer.startswith(f"HTTP/1.1 {status}"), answer
    assert time.monotonic() - started < 3


def test_a_body_over_the_limit_is_413_announced_or_streamed(base_url: str) -> None:
    big = b'{"count": 1, "pad": "' + b"x" * MAX_BODY + b'"}'
    with httpx.Client(base_url=base_url, headers={"X-API-Key": ADMIN}) as http:
        announced = http.post("/api/sim/drivers", content=big, headers={"Content-Type": "application/json"})
        assert announced.status_code == 413 and str(MAX_BODY) in announced.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
            for start in range(0, len(big), 512):
                yield big[start:start + 512]

        streamed = http.post("/api/sim/drivers", content=chunks(), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        # Nothing was spawned by either, and a body within the limit still works.
        assert http.get("/api/sim/status").json()["drivers"] == 20


def test_mutating_calls_are_rate_limited_per_key_reads_are_not(base_url: str) -> None:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": OTHER_ADMIN}) as http:
        answers = [http.post("/api/sim/riders", json={"count": 1}).status_code for _ in range(BURST + 3)]
        assert answers[:BURST] == [201] * BURST and set(answers[BURST:]) == {429}
        refused = http.post("/api/sim/riders", json={"count": 1})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert all(http.get("/api/sim/status").status_code == 200 for _ in range(30))  # reads are not limited
        assert http.get("/api/sim/status").json()["riders"] == 100 + BURST  # every refused call changed nothing
        time.sleep(1.1)  # one token back (1 per second)
        assert http.post("/api/sim/riders", json={"count": 1}).status_code == 201


def test_websocket_clients_are_capped(base_url: str) -> None:
    url = base_url.replace("http://", "ws://") + f"/ws?key={VIEWER}"

    async def scenario() -> tuple[int, str]:
        clients = [await websockets.connect(url, max_size=None) for _ in range(WS_CLIENTS)]
        for ws in clients:
            assert '"snapshot"' in await asyncio.wait_for(ws.recv(), timeout=30)
        async with websockets.connect(url) as extra:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(extra.recv(), timeout=10)
        await clients.pop().close()
        await asyncio.sleep(0.2)
        async with websockets.connect(url, max_size=None) as again:  # a slot is free again
            first = await asyncio.wait_for(again.recv(), timeout=30)
        for ws in clients:
            await ws.close()
        return closed.value.rcvd.code, first

    code, first = asyncio.run(scenario())
    assert code == 1013 and '"snapshot"' in first


def _read_response(sock: socket.socket) -> str:
    """One whole HTTP response (headers and the Content-Length body) from a kept-alive connection; its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return "connection closed by the server"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(4096)
    return head.split(b"\r\n", 1)[0].decode()


def test_a_client_polling_every_few_seconds_keeps_its_connection(base_url: str) -> None:
    """A poller reusing its connection after 6 s idle is answered: uvicorn's default closed idle connections
    after 5 s, and a request sent as the server closed its connection was lost (connection reset)."""
    host, port = base_url.removeprefix("http://").split(":")
    request = f"GET /api/sim/status HTTP/1.1\r\nHost: test\r\nX-API-Key: {VIEWER}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        assert _read_response(sock) == "HTTP/1.1 200 OK"
        time.sleep(6)
        sock.sendall(request)
        assert _read_response(sock) == "HTTP/1.1 200 OK"


def test_development_keys_are_refused_off_loopback(api_settings: Settings) -> None:
    runtime = SimulationRuntime(SimConfig(seed=1, drivers=1, riders=1), NullSink())
    dev = load_settings(topic_namespace=api_settings.topic_namespace)  # the default (development) keys
    assert dev.api_admin_keys[0].get_secret_value() == "dev-admin-key"
    for host in ("0.0.0.0", "192.168.1.10", "::", "api.example.org"):
        with pytest.raises(InsecureBindError, match="RIDESHARE_API_ADMIN_KEYS"):
            server_for(create_app(dev, runtime, frontend_dir=None), host=host, port=_free_port())
    for host in ("127.0.0.1", "localhost", "::1"):
        server_for(create_app(dev, runtime, frontend_dir=None), host=host, port=_free_port())
    server_for(create_app(api_settings, runtime, frontend_dir=None), host="0.0.0.0", port=_free_port())  # own keys: fine

    result = CliRunner().invoke(cli, ["api", "--host", "0.0.0.0", "--port", str(_free_port())],
                                env={"RIDESHARE_API_ADMIN_KEYS": "dev-admin-key", "COLUMNS": "200"})
    assert result.exit_code == 1 and "refusing to listen on 0.0.0.0" in result.output and "Traceback" not in result.output
