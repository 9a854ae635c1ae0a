"""A Kafka outage in the middle of a live run (the broker stopped and restarted by the project's launcher).

Before: the simulation thread spun on a full producer queue while holding the runtime lock, so REST,
WebSocket and control calls hung for as long as the broker was away. Now the simulation pauses producing
on its bounded queue, outside the lock: the API and the WebSocket keep answering and say the broker is
unavailable, a control call goes through, and when the broker is back the run continues and every event
is in Kafka exactly once (idempotent producer, queued events never expire). Counted by event id over
every topic afterwards.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import websockets

from agents_sim.api import create_app
from agents_sim.api.server import BackgroundServer
from agents_sim.params import SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import KafkaSink
from agents_sim.surge import StaticSurge
from core.settings import Settings, load_settings
from rideshare.topics import create_topics
from tests.faults.private_broker import event_ids_in_topics, private_broker

pytestmark = pytest.mark.integration

KEY = "outage-admin"
QUEUE = 20_000  # a small bounded queue: the outage fills it within a second or two
MAX_ANSWER_S = 1.0  # no read or control call may take longer than this, outage or not


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


async def _ws_status(url: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The snapshot's status and the status carried by the first delta with stats."""
    async with websockets.connect(url, max_size=None, open_timeout=5) as ws:
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
            if frame.get("stats"):
                return snapshot["status"], frame["stats"]["status"]
        return snapshot["status"], None


def test_a_broker_outage_pauses_the_run_keeps_the_api_answering_and_loses_nothing(
        settings: Settings, redis_service: object) -> None:
    keyed = load_settings(topic_namespace=settings.topic_namespace, lake_uri=settings.lake_uri, api_admin_keys=KEY,
                          api_viewer_keys="outage-viewer")
    with private_broker(keyed) as (broker, own):
        create_topics(own)
        sink = KafkaSink(own, **{"queue.buffering.max.messages": QUEUE})
        runtime = SimulationRuntime(SimConfig(seed=21, drivers=80, riders=800, start="2026-03-02T08:00:00-03:00"), sink, speed=300.0)
        app = create_app(own, runtime, positions_source="simulation", worker_urls=[], frontend_dir=None)
        try:
            with BackgroundServer(app, port=_free_port()) as base_url, \
                    httpx.Client(base_url=base_url, headers={"X-API-Key": KEY}, timeout=10) as http:
                ws_url = base_url.replace("http://", "ws://") + f"/ws?key={KEY}"

                def status() -> dict[str, Any]:
                    response, took = _timed(lambda: http.get("/api/sim/status"))
                    assert response.status_code == 200 and took < MAX_ANSWER_S, (response.status_code, took)
                    return response.json()

                runtime.start()
                _until(lambda: status()["broker"]["available"] is True and status()["events_emitted"] > 20_000, 60, "events flowing")

                broker.stop()  # the outage
                _until(lambda: status()["backpressure"], 30, "the simulation to wait for the broker")
                during = status()
                assert during["broker"]["available"] is False and during["state"] == "running"
                assert during["broker"]["queued"] <= QUEUE * 1.01
                frozen = during["sim_time_ms"]
                time.sleep(3)
                # Paused producing: simulated time stands still, nothing more is queued, and everything answers.
                later = status()
                assert later["sim_time_ms"] == frozen and later["broker"]["queued"] <= QUEUE * 1.01 and later["backpressure"]
                for path in ("/api/metrics", "/api/trips", "/api/metrics/overview", "/api/live/clients"):
                    response, took = _timed(lambda p=path: http.get(p))
                    assert response.status_code == 200 and took < MAX_ANSWER_S, (path, took)
                ws_snapshot, ws_delta = asyncio.run(_ws_status(ws_url))
                assert ws_snapshot["broker"]["available"] is False and ws_delta is not None and ws_delta["backpressure"]
                changed, took = _timed(lambda: http.put("/api/sim/speed", json={"speed": 200}))
                assert changed.status_code == 200 and changed.json()["speed"] == 200 and took < MAX_ANSWER_S

                broker.start()  # the broker returns
                _until(lambda: not status()["backpressure"] and status()["broker"]["available"] is True, 90, "the run to continue")
                _until(lambda: status()["sim_time_ms"] > frozen + 600_000, 60, "ten more simulated minutes")
                assert runtime.error is None
        finally:
            runtime.stop()
        assert runtime.undelivered == 0 and sink.producer.failed == 0
        emitted, session = runtime.sim.events.counter, runtime.sim.session_id

        ids = event_ids_in_topics(own)
        counts = Counter(ids)
        expected = {f"{session}-{n:x}" for n in range(1, emitted + 1)}
        lost = expected - counts.keys()
        doubled = {event_id: n for event_id, n in counts.items() if n > 1}
        assert not lost, f"{len(lost)} of {emitted} events lost, e.g. {sorted(lost)[:5]}"
        assert not doubled, f"{len(doubled)} events doubled, e.g. {list(doubled.items())[:5]}"
        assert counts.keys() == expected


def test_a_queue_that_fills_while_the_lock_is_held_waits_with_the_lock_released() -> None:
    """The last resort: the sim thread emits more than the room left in the queue while it holds the runtime
    lock (a step, or here a spawn command of 1,000 profile events during an outage): it waits for room with
    the lock released, so views keep answering. A real producer towards a port nobody listens on; the queue
    is emptied by librdkafka's purge at the end so the command can finish and the run stop."""
    settings = load_settings(kafka_bootstrap="127.0.0.1:9", topic_namespace="locked.")
    sink = KafkaSink(settings, **{"queue.buffering.max.messages": 1_500})
    config = SimConfig(seed=4, drivers=20, riders=100, start="2026-03-02T08:00:00-03:00")
    runtime = SimulationRuntime(config, sink, surge=StaticSurge(), speed="max")
    runtime.start()
    with ThreadPoolExecutor(2) as pool:
        try:
            _until(lambda: runtime.status()["backpressure"], 30, "the queue to pass its high-water mark")
            spawned = pool.submit(runtime.spawn_drivers, 1_000)  # 1,000 events: more than the room left
            _until(lambda: runtime.lock_released_waits > 0, 30, "the command to wait for room")
            started = time.monotonic()
            status = runtime.status()
            assert time.monotonic() - started < MAX_ANSWER_S and status["backpressure"] and not spawned.done()
            assert status["broker"]["queued"] <= 1_500 * 1.01 and status["drivers"] <= 1_020  # bounded (len() counts a few in flight)
        finally:
            stopping = pool.submit(runtime.stop, 30)
            while runtime.wait(0.05) is False:  # the broker never comes: make room until the thread has stopped
                sink.producer._producer.purge(in_queue=True, in_flight=True)
            stopping.result()
        assert len(spawned.result()) == 1_000 and runtime.state == "stopped"
