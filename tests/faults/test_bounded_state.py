"""Bounded state in the simulation process: every list, dict and queue of the runtime, its stats and views,
the API's live hub and guard, and the producer has a bound, whatever a long run (or a hostile client) feeds
it. Before, fares were kept in a list and sorted under the runtime lock twice a second, the command queue
and failure list grew without end, and so on. One test per structure; the real classes, no stand-ins.
"""

from __future__ import annotations

import asyncio
import random
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from agents_sim import views
from agents_sim.api import create_app
from agents_sim.api.guard import MutationLimiter
from agents_sim.api.live.hub import LiveHub, TooManyClients
from agents_sim.api.server import BackgroundServer
from agents_sim.exceptions import RuntimeBusyError
from agents_sim.pacing import AutoPacer, LagSample
from agents_sim.params import SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import ListSink
from agents_sim.stats import MAX_CANCEL_KEYS, MAX_ZONE_KEYS, OTHER, FareHistogram, SimStats
from core.producer import EventProducer
from core.settings import load_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SMALL = SimConfig(seed=3, drivers=10, riders=50, start="2026-03-02T08:00:00-03:00")


def test_fares_are_a_fixed_size_histogram_with_an_accurate_median() -> None:
    stats = SimStats()
    size = len(stats.fares.bins)
    rng = random.Random(1)
    fares = [round(rng.lognormvariate(3.1, 0.5), 2) for _ in range(200_000)]
    for fare in fares:
        stats.add_fare(fare)
    assert len(stats.fares.bins) == size and stats.fares.count == len(fares) and stats.fares.total_brl == sum(fares)
    assert stats.overview()["median_fare_brl"] == pytest.approx(statistics.median(fares), abs=stats.fares.bin_brl / 2)
    assert FareHistogram().quantile(0.5) is None
    stats.add_fare(10_000.0)  # beyond the last bin: counted there, nothing grows
    assert len(stats.fares.bins) == size


def test_cancel_reasons_and_zones_stop_adding_keys_at_their_cap() -> None:
    stats = SimStats()
    for i in range(5_000):
        stats.on_trip_event("cancelled", f"zone-{i}", "system", f"reason-{i}")
    assert len(stats.cancelled) == MAX_CANCEL_KEYS + 1 and OTHER in stats.cancelled
    assert sum(stats.cancelled.values()) == 5_000
    assert len(stats.zones) == MAX_ZONE_KEYS + 1 and stats.zones[OTHER].cancelled == 5_000 - MAX_ZONE_KEYS


def test_a_view_of_a_long_route_is_thinned() -> None:
    route = [[-46.6 + i * 1e-5, -23.5] for i in range(10_000)]
    assert views._thinned(route)[0] == route[0] and views._thinned(route)[-1] == route[-1]
    assert len(views._thinned(route)) <= views.MAX_ROUTE_POINTS
    assert views._thinned(route[:50]) == route[:50]


class _HeldAtTheBoundary:
    """A lockstep surge source that holds the sim thread at its first step boundary until released (so
    commands pile up in the runtime's queue; the queue, not this source, is under test)."""

    step_ms = 60_000
    mode = "lockstep"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = threading.Event()

    def begin(self, session_id: str, start_ms: int) -> None:
        return None

    def complete_step(self, session_id: str, step_end_ms: int) -> float:
        started = time.monotonic()
        self.held.set()
        self.release.wait(30)
        return time.monotonic() - started

    def multiplier(self, zone_id: str) -> float:
        return 1.0

    def poll(self) -> int:
        return 0

    def snapshot(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        self.release.set()


def test_control_commands_queue_up_to_a_bound_then_busy() -> None:
    surge = _HeldAtTheBoundary()
    runtime = SimulationRuntime(SMALL, ListSink(), surge=surge, speed="max")
    runtime.start()
    try:
        assert surge.held.wait(30)
        with ThreadPoolExecutor(100) as pool:
            futures = [pool.submit(runtime.set_speed, 10.0 + i) for i in range(100)]
            time.sleep(1.0)
            busy = [f for f in futures if f.done() and isinstance(f.exception(), RuntimeBusyError)]
            assert 30 <= len(busy) <= 100 - 32  # the queue took its bound (64) and refused the rest at once
            surge.release.set()
            applied = [f for f in futures if f.exception(timeout=30) is None]
        assert len(applied) + len(busy) == 100 and applied
    finally:
        surge.release.set()
        runtime.stop()


def test_trip_subscribers_are_capped() -> None:
    runtime = SimulationRuntime(SMALL, ListSink(), speed="max")
    unsubscribes = [runtime.subscribe(lambda change: None) for _ in range(64)]
    with pytest.raises(RuntimeBusyError):
        runtime.subscribe(lambda change: None)
    unsubscribes[0]()
    runtime.subscribe(lambda change: None)


def test_the_hub_bounds_its_clients_and_the_changes_it_gathers() -> None:
    runtime = SimulationRuntime(SMALL, ListSink(), speed="max")
    hub = LiveHub(runtime, max_pending_objects=1_000, max_clients=3)
    clients = [hub.register() for _ in range(3)]
    with pytest.raises(TooManyClients):
        hub.register()
    for client in clients:
        client.mailbox.snapshot_started()
    for tick in range(50):  # 50 x 100 distinct entities: past the bound, dropped for a snapshot
        hub.push_positions([{"entity_type": "driver", "entity_id": f"D{tick}-{i}", "lat": 1.0, "lon": 2.0} for i in range(100)])
        assert hub._incoming.object_count <= 1_000
    assert hub.overflows >= 4 and all(client.mailbox.needs_snapshot for client in clients)

    async def trips_from_the_sim_thread() -> None:
        hub._loop = asyncio.get_running_loop()
        await asyncio.to_thread(lambda: [hub.trip_changed({"trip_id": f"T{i}", "state": "requested"}) for i in range(5_000)])

    asyncio.run(trips_from_the_sim_thread())
    assert len(hub._incoming_trips) <= 1_000
    assert hub._cut_frame().is_empty() and hub.overflows >= 5  # the overflow turns into snapshots, not a giant frame


def test_the_rate_limiter_keeps_a_bounded_number_of_buckets() -> None:
    limiter = MutationLimiter(rate_per_s=1.0, burst=2, max_keys=100)
    for i in range(10_000):
        limiter.retry_after_s(f"key-{i}", now_s=0.0)
    assert len(limiter) == 100
    assert limiter.retry_after_s("k", now_s=0.0) == 0 and limiter.retry_after_s("k", now_s=0.0) == 0
    assert limiter.retry_after_s("k", now_s=0.0) == pytest.approx(1.0)


def test_api_metrics_label_values_come_from_a_closed_set(redis_service: object) -> None:
    runtime = SimulationRuntime(SMALL, ListSink(), speed="max")
    app = create_app(load_settings(api_admin_keys="m-admin", api_viewer_keys="m-viewer"), runtime, positions_source="simulation",
                     worker_urls=[], frontend_dir=None)
    with BackgroundServer(app, port=_free_port()) as url, httpx.Client(base_url=url) as http:
        for i in range(200):
            http.request(f"X{i}METHOD", f"/api/nothing/{i}")
            http.get(f"/nowhere/{i}")
        text = http.get("/metrics").text
    series = [line for line in text.splitlines() if line.startswith("rideshare_api_requests_total{")]
    assert len(series) <= 10, series  # not one series per method or path


def test_the_pacer_keeps_a_bounded_window_of_lag_samples() -> None:
    pacer = AutoPacer(rate_s=5.0)
    for i in range(1_000):
        pacer.update(LagSample(float(i), 100, i * 1_000), achieved_factor=10.0)
    assert len(pacer._samples) == 11  # the last 2 x 5 s of samples, one a second
    for _ in range(1_000):  # however fast samples come
        pacer.update(LagSample(2_000.0, 100, 10**6), achieved_factor=10.0)
    assert len(pacer._samples) <= 256


def test_failed_deliveries_are_counted_not_kept() -> None:
    # A real producer towards a port nobody listens on: every delivery times out.
    settings = load_settings(kafka_bootstrap="127.0.0.1:9", topic_namespace="bounded.")
    producer = EventProducer(settings, **{"message.timeout.ms": 200})
    for i in range(2_000):
        producer.send_raw("bounded.t", str(i).encode(), b"x")
    deadline = time.monotonic() + 30
    while producer.failed < 2_000 and time.monotonic() < deadline:
        producer.poll()
        time.sleep(0.05)
    assert producer.failed == 2_000 and isinstance(producer.first_failure, str)
