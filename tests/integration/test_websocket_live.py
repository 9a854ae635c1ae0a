"""The live WebSocket against the real app, the real running simulation and real Redis: snapshot first,
then deltas that follow the simulation; surge and positions from the live-state Redis contract; the
frame rate bound; and a slow client that does not make the server queue more than one bounded delta."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
import websockets

from agents_sim.api import create_app
from agents_sim.api.models import LiveDelta, LiveSnapshot
from agents_sim.api.server import BackgroundServer
from agents_sim.params import SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import NullSink
from core.settings import Settings, load_settings
from schemas.live_state import LiveStateKeys

pytestmark = pytest.mark.integration

KEY = "ws-viewer"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ws_settings(settings: Settings, redis_service: object) -> Settings:
    # Its own namespace: the Redis channels of this module are not shared with other tests.
    return load_settings(topic_namespace=f"{settings.topic_namespace}ws.", lake_uri=settings.lake_uri,
                         api_admin_keys="ws-admin", api_viewer_keys=KEY)


@pytest.fixture(scope="module")
def runtime() -> Iterator[SimulationRuntime]:
    # 08:00 in São Paulo: the morning peak, drivers online and moving from the first second.
    sim = SimulationRuntime(SimConfig(seed=3, drivers=60, riders=600, start="2026-03-02T08:00:00-03:00"), NullSink())
    sim.set_speed(120.0)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def sim_server(ws_settings: Settings, runtime: SimulationRuntime) -> Iterator[str]:
    """Positions polled from the simulation (no Faust worker), surge from Redis."""
    app = create_app(ws_settings, runtime, positions_source="simulation", worker_urls=[], frontend_dir=None)
    with BackgroundServer(app, port=_free_port()) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def redis_server(ws_settings: Settings, runtime: SimulationRuntime) -> Iterator[str]:
    """Positions and surge from the GPS/surge topologies' Redis output (fed by hand here)."""
    redis_settings = ws_settings.model_copy(update={"topic_namespace": f"{ws_settings.topic_namespace}r."})
    app = create_app(redis_settings, runtime, positions_source="redis", worker_urls=[], frontend_dir=None)
    with BackgroundServer(app, port=_free_port()) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def idle_server(ws_settings: Settings) -> Iterator[str]:
    """A created, never started simulation: the only changes are the ones the test publishes to Redis."""
    idle_settings = ws_settings.model_copy(update={"topic_namespace": f"{ws_settings.topic_namespace}idle."})
    idle = SimulationRuntime(SimConfig(seed=4, drivers=5, riders=20), NullSink())
    app = create_app(idle_settings, idle, positions_source="redis", worker_urls=[], frontend_dir=None)
    try:
        with BackgroundServer(app, port=_free_port()) as base_url:
            yield base_url
    finally:
        idle.stop()


def _ws(base_url: str, key: str = KEY) -> str:
    return base_url.replace("http://", "ws://") + f"/ws?key={key}"


async def _frames(url: str, seconds: float) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with websockets.connect(url, max_size=None) as ws:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=left)))
            except TimeoutError:
                break
    return frames


def test_a_bad_key_is_closed_with_4401(sim_server: str) -> None:
    async def connect() -> int:
        async with websockets.connect(_ws(sim_server, "wrong")) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd.code

    assert asyncio.run(connect()) == 4401


def test_non_browser_clients_may_send_the_key_as_a_header(sim_server: str) -> None:
    async def first_frame() -> dict[str, Any]:
        url = sim_server.replace("http://", "ws://") + "/ws"
        async with websockets.connect(url, additional_headers={"X-API-Key": KEY}, max_size=None) as ws:
            return json.loads(await ws.recv())

    assert asyncio.run(first_frame())["type"] == "snapshot"


def test_snapshot_then_deltas_follow_the_running_simulation(sim_server: str) -> None:
    frames = asyncio.run(_frames(_ws(sim_server), 4.0))
    snapshot, deltas = frames[0], frames[1:]
    assert snapshot["type"] == "snapshot" and all(f["type"] == "delta" for f in deltas)
    # Every frame is exactly what the spec's models (and so the generated TypeScript types) say.
    assert LiveSnapshot.model_validate(snapshot).model_dump(mode="json") == snapshot
    for delta in deltas:
        assert LiveDelta.model_validate(delta).model_dump(mode="json") == delta
    assert snapshot["positions"] and snapshot["status"]["state"].upper() == "RUNNING"
    first_seen = {(p["entity_type"], p["entity_id"]): (p["lat"], p["lon"]) for p in snapshot["positions"]}
    moved = [p for d in deltas for p in d["positions"]
             if not p.get("removed") and first_seen.get((p["entity_type"], p["entity_id"]), (p["lat"], p["lon"])) != (p["lat"], p["lon"])]
    assert moved, "no entity moved in the deltas"
    sim_times = [d["stats"]["status"]["sim_time_ms"] for d in deltas if d["stats"]]
    assert len(sim_times) >= 2 and sim_times[-1] > sim_times[0] > 0
    trip_changes = [t for d in deltas for t in d["trips"]]
    assert trip_changes and all("trip_id" in t for t in trip_changes)
    # Trips on a leg come with their route, so clients draw routes from the stream alone.
    on_a_leg = [t for t in trip_changes if t["state"] in ("driver_assigned", "en_route_pickup", "in_transit")]
    assert on_a_leg and any(len(t.get("route", [])) >= 2 for t in on_a_leg)


def test_frames_are_rate_bounded(sim_server: str) -> None:
    seconds = 3.0
    frames = asyncio.run(_frames(_ws(sim_server), seconds))
    assert len(frames) - 1 <= seconds * 10 + 1  # at most 10 delta frames per second


def test_many_clients_get_the_same_frames(sim_server: str) -> None:
    async def all_clients() -> list[list[dict[str, Any]]]:
        # 6 s: on a slow machine 25 connections and their snapshots take a good part of the first seconds
        return list(await asyncio.gather(*(_frames(_ws(sim_server), 6.0) for _ in range(25))))

    per_client = asyncio.run(all_clients())
    assert all(frames and frames[0]["type"] == "snapshot" for frames in per_client)
    ticks = [{f["tick"] for f in frames[1:]} for frames in per_client]
    assert all(len(client_ticks) >= 3 for client_ticks in ticks)
    # Clients that keep up receive the very same frames (one serialisation shared by all).
    common = set.intersection(*ticks)
    assert len(common) >= 3


def test_positions_and_surge_from_the_live_state_redis_contract(redis_server: str, ws_settings: Settings) -> None:
    keys = LiveStateKeys(f"{ws_settings.topic_namespace}r.")
    client = redis.Redis.from_url(ws_settings.redis_url)
    zone = {"zone_id": "42", "surge_multiplier": 1.8, "demand_count": 30, "supply_count": 4, "window_end": 1_000}
    client.hset(keys.surge_current, "42", json.dumps(zone))
    position = {"entity_type": "driver", "entity_id": "D-ws-1", "lat": -23.55, "lon": -46.63, "driver_status": "available",
                "event_time": 2_000, "window_end": 2_000}
    client.hset(keys.positions_latest, "driver:D-ws-1", json.dumps(position))

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with websockets.connect(_ws(redis_server), max_size=None) as ws:
            snapshot = json.loads(await ws.recv())
            moved = {**position, "lat": -23.56, "event_time": 3_000}
            client.publish(keys.positions_channel, json.dumps({"window_end": 3_000, "positions": [moved]}))
            client.publish(keys.surge_channel, json.dumps({**zone, "surge_multiplier": 2.4}))
            deltas: list[dict[str, Any]] = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (any(d["surge"] for d in deltas) and any(d["positions"] for d in deltas)):
                deltas.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=10)))
            return snapshot, deltas

    snapshot, deltas = asyncio.run(scenario())
    # The GPS topology's record arrives in the WebSocket's one position shape (driver_status -> status).
    assert snapshot["surge"] == [zone] and snapshot["positions"] == [
        {"entity_type": "driver", "entity_id": "D-ws-1", "lat": -23.55, "lon": -46.63, "heading_deg": 0.0, "speed_kmh": 0.0,
         "status": "available", "trip_id": None, "event_time": 2_000, "window_end": 2_000}]
    assert [s["surge_multiplier"] for d in deltas for s in d["surge"]] == [2.4]
    assert [p["lat"] for d in deltas for p in d["positions"]] == [-23.56]


def _stalled_client(base_url: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads, with a tiny receive buffer."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: fixes the advertised window
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET /ws?key={KEY} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


def test_a_slow_client_costs_one_bounded_delta_not_a_queue(idle_server: str, ws_settings: Settings) -> None:
    """A client that stops reading while 2,000 entities move 20 times a second: the server keeps at most
    one pending delta for it (<= the number of entities + stats) and its size stays flat; a fast client
    meanwhile keeps getting frames."""
    keys = LiveStateKeys(f"{ws_settings.topic_namespace}idle.")
    client = redis.Redis.from_url(ws_settings.redis_url)
    entities = 2_000

    def publish_burst(tick: int) -> None:
        positions = [{"entity_type": "driver", "entity_id": f"D-slow-{i}", "lat": -23.5 - tick * 1e-5, "lon": -46.6,
                      "driver_status": "available", "event_time": tick} for i in range(entities)]
        client.publish(keys.positions_channel, json.dumps({"window_end": tick, "positions": positions}))

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        async with websockets.connect(_ws(idle_server), max_size=None) as fast, httpx.AsyncClient(base_url=idle_server) as http:
            fast_frames = 0
            samples: list[dict[str, Any]] = []
            for tick in range(1, 121):  # 6 s at 20 bursts/s
                await asyncio.to_thread(publish_burst, tick)
                deadline = time.monotonic() + 0.05
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        await asyncio.wait_for(fast.recv(), timeout=left)
                        fast_frames += 1
                    except TimeoutError:
                        break
                if tick % 20 == 0:
                    samples.append((await http.get("/api/live/clients", headers={"X-API-Key": KEY})).json())
            return samples, fast_frames

    stalled = _stalled_client(idle_server)
    try:
        samples, fast_frames = asyncio.run(scenario())
    finally:
        stalled.close()
    slow_stats = [min(s["clients"], key=lambda c: c["frames_sent"]) for s in samples]
    assert all(len(s["clients"]) == 2 for s in samples)
    assert samples[-1]["redis_feed"]["connected"] and samples[-1]["redis_feed"]["messages"] >= 100
    # Bounded: never more than one pending object per entity (+ stats), however long it stays slow.
    assert max(c["pending_objects"] for c in slow_stats) <= entities + 1
    # Its sends block, so it stops getting frames, while the frames meant for it keep being merged.
    assert slow_stats[-1]["frames_sent"] - slow_stats[0]["frames_sent"] <= 1
    assert slow_stats[-1]["frames_coalesced"] >= slow_stats[0]["frames_coalesced"] + 30
    # Its pending bytes stay flat instead of growing with every burst (one delta of the latest positions).
    pending_bytes = [c["pending_bytes"] for c in slow_stats[1:]]  # from the second second on: blocked by then
    assert min(pending_bytes) > 0 and max(pending_bytes) <= 1.2 * min(pending_bytes)
    assert fast_frames >= 30  # the fast client was not held back by the slow one
