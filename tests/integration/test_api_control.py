"""The control API over HTTP (httpx) against the real app, the real simulation runtime and real Redis:
roles (401/403), validation (422), state conflicts (409), the two-phase pause, inspection, metrics."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as websockets_connect

from agents_sim.api import create_app
from agents_sim.api.server import BackgroundServer
from agents_sim.params import SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import NullSink
from core.settings import Settings, load_settings

pytestmark = pytest.mark.integration

ADMIN = {"X-API-Key": "it-admin"}
VIEWER = {"X-API-Key": "it-viewer"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api_settings(settings: Settings, redis_service: object) -> Settings:
    # A generous rate limit: these tests change the simulation many times a second (tests/faults covers the 429).
    return load_settings(topic_namespace=settings.topic_namespace, lake_uri=settings.lake_uri,
                         api_admin_keys="it-admin", api_viewer_keys="it-viewer", api_mutations_burst=1_000)


@pytest.fixture(scope="module")
def runtime() -> Iterator[SimulationRuntime]:
    # 08:00 in São Paulo: the morning peak, so trips are in flight within seconds.
    sim = SimulationRuntime(SimConfig(seed=11, drivers=40, riders=400, start="2026-03-02T08:00:00-03:00"), NullSink())
    sim.set_speed("max")  # as fast as possible: trips finish within seconds of wall time
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def client(api_settings: Settings, runtime: SimulationRuntime) -> Iterator[httpx.Client]:
    app = create_app(api_settings, runtime, positions_source="simulation", worker_urls=[], frontend_dir=None)
    with BackgroundServer(app, port=_free_port()) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def _state(client: httpx.Client) -> str:
    return str(client.get("/api/sim/status", headers=VIEWER).json()["state"]).upper()


def _wait_for_state(client: httpx.Client, state: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while _state(client) != state:
        assert time.monotonic() < deadline, f"state stayed {_state(client)}, expected {state}"
        time.sleep(0.1)


def test_requests_without_a_key_are_401_and_with_an_unknown_key_too(client: httpx.Client) -> None:
    assert client.get("/api/sim/status").status_code == 401
    response = client.post("/api/sim/start", headers={"X-API-Key": "nope"})
    assert response.status_code == 401 and "X-API-Key" in response.json()["detail"]


def test_a_viewer_reads_but_may_not_mutate(client: httpx.Client) -> None:
    assert client.get("/api/sim/status", headers=VIEWER).status_code == 200
    for method, path, body in (("POST", "/api/sim/start", None), ("PUT", "/api/sim/speed", {"speed": 10}),
                               ("POST", "/api/sim/drivers", {"count": 1}), ("POST", "/api/sim/reset", None)):
        response = client.request(method, path, headers=VIEWER, json=body)
        assert response.status_code == 403, path
        assert "admin key" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("PUT", "/api/sim/speed", {"speed": 5000}, "speed"),
    ("PUT", "/api/sim/speed", {"speed": "fast"}, "speed"),
    ("PUT", "/api/sim/speed", {"speed": None}, "speed"),  # "as fast as possible" is spelled max, not null
    ("PUT", "/api/sim/speed", {"speed": 0}, "speed"),
    ("POST", "/api/sim/drivers", {"count": 0}, "count"),
    ("POST", "/api/sim/riders", {"count": 10, "extra": 1}, "extra"),
    ("POST", "/api/sim/pause", {"drain_timeout_s": -5}, "drain_timeout_s"),
])
def test_invalid_input_is_a_422_naming_the_field(client: httpx.Client, method: str, path: str, body: dict[str, Any], field: str) -> None:
    response = client.request(method, path, headers=ADMIN, json=body)
    assert response.status_code == 422
    assert any(error["loc"][-1] == field for error in response.json()["detail"])


def test_speed_spellings_and_auto_without_a_consumer_group_to_read(client: httpx.Client) -> None:
    for speed in ("max", 30, "45x"):
        response = client.put("/api/sim/speed", headers=ADMIN, json={"speed": speed})
        assert response.status_code == 200 and response.json()["speed"] == ("max" if speed == "max" else float(str(speed).rstrip("x")))
    response = client.put("/api/sim/speed", headers=ADMIN, json={"speed": "auto"})  # a NullSink run: no workers' lag to read
    assert response.status_code == 422 and "consumer lag" in response.json()["detail"]
    client.put("/api/sim/speed", headers=ADMIN, json={"speed": "max"})


def test_bad_agent_ids_are_422_and_unknown_ones_404(client: httpx.Client) -> None:
    assert client.get("/api/drivers/not a valid id!", headers=VIEWER).status_code == 422
    response = client.get("/api/drivers/D-does-not-exist", headers=VIEWER)
    assert response.status_code == 404 and "D-does-not-exist" in response.json()["detail"]


def test_lifecycle_start_two_phase_pause_resume(client: httpx.Client, runtime: SimulationRuntime) -> None:
    assert client.post("/api/sim/start", headers=ADMIN).status_code == 200
    _wait_for_state(client, "RUNNING")
    # A finite speed keeps the drain (trips in flight finishing) long enough to be seen.
    speed = client.put("/api/sim/speed", headers=ADMIN, json={"speed": 300})
    assert speed.status_code == 200 and speed.json()["speed"] == 300
    deadline = time.monotonic() + 60
    while len(runtime.active_trips()) < 3:  # several trips in flight, so the pause has something to drain
        assert time.monotonic() < deadline, "trips did not start"
        time.sleep(0.05)
    response = client.post("/api/sim/pause", headers=ADMIN, json={"drain_timeout_s": 3600})
    assert response.status_code == 202
    states_seen = {str(response.json()["state"]).upper()}
    while "PAUSED" not in states_seen:
        states_seen.add(_state(client))
        assert time.monotonic() < deadline + 60, f"never paused: {states_seen}"
        time.sleep(0.02)
    assert "DRAINING" in states_seen  # the first phase is observable
    assert runtime.active_trips() == []  # drained: every trip in flight finished (or was cancelled)
    sim_time = client.get("/api/sim/status", headers=VIEWER).json()["sim_time_ms"]
    time.sleep(0.5)
    assert client.get("/api/sim/status", headers=VIEWER).json()["sim_time_ms"] == sim_time  # paused means paused
    conflict = client.post("/api/sim/pause", headers=ADMIN)
    assert conflict.status_code == 409 and conflict.json()["detail"]
    assert client.post("/api/sim/resume", headers=ADMIN).status_code == 200
    _wait_for_state(client, "RUNNING")


def test_spawned_agents_can_be_inspected_and_spawning_is_bounded(client: httpx.Client) -> None:
    response = client.post("/api/sim/drivers", headers=ADMIN, json={"count": 3})
    assert response.status_code == 201
    spawned = response.json()
    assert spawned["count"] == 3 and len(set(spawned["ids"])) == 3
    driver = client.get(f"/api/drivers/{spawned['ids'][0]}", headers=VIEWER)
    assert driver.status_code == 200 and "dna" in {key.lower() for key in driver.json()}
    riders = client.post("/api/sim/riders", headers=ADMIN, json={"count": 2}).json()
    assert client.get(f"/api/riders/{riders['ids'][0]}", headers=VIEWER).status_code == 200
    too_many = client.post("/api/sim/drivers", headers=ADMIN, json={"count": 1001})
    assert too_many.status_code == 422


def test_zones_and_metrics_sections(client: httpx.Client) -> None:
    zones = client.get("/api/zones", headers=VIEWER).json()
    assert zones["type"] == "FeatureCollection" and len(zones["features"]) == 96
    zone_id = zones["features"][0]["properties"]["zone_id"]
    zone = client.get(f"/api/zones/{zone_id}", headers=VIEWER)
    assert zone.status_code == 200 and zone.json()["feature"]["properties"]["zone_id"] == zone_id
    everything = client.get("/api/metrics", headers=VIEWER).json()
    for path, key in (("overview", "overview"), ("zones", "zones"), ("trips", "trips_by_state"),
                      ("drivers", "drivers_by_status"), ("riders", "riders_by_status")):
        section = client.get(f"/api/metrics/{path}", headers=VIEWER)
        assert section.status_code == 200, path
        assert type(section.json()) is type(everything[key]), path  # the runtime's section, not a default
    assert len(client.get("/api/metrics/zones", headers=VIEWER).json()) == 96
    assert {"requests", "completed"} <= client.get("/api/metrics/overview", headers=VIEWER).json().keys()
    drivers_by_status = client.get("/api/metrics/drivers", headers=VIEWER).json()
    assert sum(drivers_by_status.values()) == client.get("/api/sim/status", headers=VIEWER).json()["drivers"]


def test_prometheus_metrics_and_docs_need_no_key(client: httpx.Client) -> None:
    text = client.get("/metrics").text
    assert 'rideshare_api_requests_total{method="GET",route="/api/sim/status",status="200"}' in text
    assert "rideshare_sim_state{" in text and "rideshare_ws_clients" in text
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
    assert "https://" not in docs.text and "http://" not in docs.text  # no CDN: the docs work offline
    assert client.get("/static/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 200 and client.get("/static/docs/redoc.standalone.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


def test_topology_without_a_worker_is_a_clear_503(client: httpx.Client) -> None:
    response = client.get("/api/topology", headers=VIEWER)
    assert response.status_code == 503 and "--worker-url" in response.json()["detail"]


def _trickling_worker(stop: threading.Event) -> int:
    """A worker web port that accepts, then answers one byte every half second: no read waits long enough for a
    per-read timeout, so only a bound on the whole exchange ends it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)

    def serve() -> None:
        with server:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.recv(4096)
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
                        if stop.wait(0.5):
                            break
                        conn.sendall(bytes([byte]))

    threading.Thread(target=serve, daemon=True).start()
    return int(server.getsockname()[1])


def test_topology_answers_in_time_when_a_worker_hangs_mid_answer(api_settings: Settings, runtime: SimulationRuntime) -> None:
    stop = threading.Event()
    worker_url = f"http://127.0.0.1:{_trickling_worker(stop)}"
    app = create_app(api_settings, runtime, positions_source="simulation", worker_urls=[worker_url], frontend_dir=None)
    try:
        with BackgroundServer(app, port=_free_port()) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
            started = time.monotonic()
            response = http.get("/api/topology", headers=VIEWER)
            assert time.monotonic() - started < 4
            assert response.status_code == 503 and worker_url in response.json()["detail"]
    finally:
        stop.set()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_keys_never_reach_the_logs(client: httpx.Client) -> None:
    # uvicorn's loggers do not propagate to the root logger: listen on them directly, at INFO.
    capture = _Capture()
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "uvicorn.access", "agents_sim")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(logging.INFO)
    try:
        client.get("/api/sim/status", headers=ADMIN)
        client.get("/api/sim/status", params={"key": "it-admin"})
        ws_url = client.base_url.copy_with(scheme="ws", path="/ws", params={"key": "it-viewer"})
        with websockets_connect(str(ws_url)) as ws:
            assert ws.recv(timeout=30)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(level)
    assert any("/ws?key=***" in line for line in capture.lines)  # the connection was logged, redacted
    assert not any("it-admin" in line or "it-viewer" in line for line in capture.lines)


def test_the_built_ui_is_served_at_the_root_next_to_the_api(api_settings: Settings, runtime: SimulationRuntime, tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>Rideshare control room</title>")
    (tmp_path / "assets" / "app.js").write_text("console.log('map')")
    app = create_app(api_settings, runtime, positions_source="simulation", worker_urls=[], frontend_dir=tmp_path)
    with BackgroundServer(app, port=_free_port()) as base_url, httpx.Client(base_url=base_url) as http:
        assert "Rideshare control room" in http.get("/").text
        assert http.get("/assets/app.js").text == "console.log('map')"
        assert http.get("/api/sim/status", headers=VIEWER).status_code == 200  # the mount does not shadow the API
        assert http.get("/docs").status_code == 200
