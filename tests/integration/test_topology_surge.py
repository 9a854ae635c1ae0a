"""Real broker + Redis + a `rideshare worker` process: a demand burst raises one zone's surge on the
surge topic, a quiet period brings it back to 1.0, and expired panes are removed."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from itertools import pairwise

import pytest
import redis
from confluent_kafka import Consumer

from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec
from schemas.codec import decode
from schemas.live_state import LiveStateKeys
from schemas.zones import zone_index
from tests.integration.topology_events import (
    T0_MS,
    driver_available,
    fresh_settings,
    gps_ping,
    producer,
    started_worker,
    trip_requested,
    wait_until,
)

pytestmark = pytest.mark.integration

MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def surge_settings(topics: Settings, redis_service: object, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return fresh_settings(topics, tmp_path_factory.mktemp("surge-worker"))


@pytest.fixture(scope="module")
def worker(surge_settings: Settings) -> Iterator[WorkerProcess]:
    with started_worker(surge_settings, "dedup,gps,surge", assigned_topic="trips") as process:
        yield process


def read_surge_updates(settings: Settings, zone_id: str, until: float) -> list[dict]:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic_spec("surge").qualified(settings.topic_namespace)])
    updates: list[dict] = []
    try:
        while time.monotonic() < until:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            assert message.key() is not None
            name, record = decode(message.value())
            assert name == "surge_update" and message.key().decode() == record["zone_id"]
            if record["zone_id"] == zone_id:
                updates.append(record)
                if len(updates) > 1 and record["surge_multiplier"] == 1.0:
                    break
    finally:
        consumer.close()
    return updates


def node(worker: WorkerProcess, node_id: str) -> dict:
    return next(n for graph in worker.get_json("/topology/")["topologies"] for n in graph["nodes"] if n["id"] == node_id)


def test_demand_burst_raises_the_multiplier_and_quiet_lowers_it(surge_settings: Settings, worker: WorkerProcess) -> None:
    index = zone_index()
    hot, calm = [zone for zone in index.zones if index.zone_of(zone.centroid_lat, zone.centroid_lon) == zone.zone_id][:2]
    send = producer(surge_settings)
    # minute 0: two available drivers (one seen through a status change, one only through its GPS pings,
    # twice) and 20 ride requests in the hot zone (each request sent twice: duplicates must not count)
    send.send("driver_status", driver_available("s-1", T0_MS + 1_000, "DRV-1", hot.zone_id))
    for i, t in enumerate((T0_MS + 1_500, T0_MS + 2_500)):
        send.send("gps_ping", gps_ping(f"gp-{i}", t, "DRV-2", hot.centroid_lat, hot.centroid_lon, status="available"))
    for i in range(20):
        request = trip_requested(f"req-{i}", T0_MS + 2_000 + i * 1_000, hot.zone_id)
        send.send("trip_event", request)
        send.send("trip_event", request)  # exact duplicate
    send.flush()
    # Live, the sources advance together; here everything is already in Kafka, and the worker reads
    # trips and driver-status concurrently, so let the burst land before event time jumps ahead.
    wait_until(lambda: node(worker, "surge.windows")["events_in"] >= 22, 60, "the burst's 22 signals")
    # then 14 quiet minutes: only supply elsewhere moves event time forward
    for minute in range(1, 15):
        send.send("driver_status", driver_available(f"q-{minute}", T0_MS + minute * MINUTE_MS + 500, "DRV-9", calm.zone_id))
    send.flush()

    updates = read_surge_updates(surge_settings, hot.zone_id, time.monotonic() + 60)
    multipliers = [u["surge_multiplier"] for u in updates]
    assert multipliers, f"no surge update for zone {hot.zone_id}; see {worker.log_path}"
    first = updates[0]
    assert first["previous_multiplier"] == 1.0 and first["surge_multiplier"] > 1.0
    assert (first["demand_count"], first["supply_count"]) == (20, 2)  # duplicates dropped, drivers distinct
    assert first["window_end"] == T0_MS + MINUTE_MS and first["window_start"] == first["window_end"] - 5 * MINUTE_MS
    peak = multipliers.index(max(multipliers))
    assert max(multipliers) <= 3.0
    assert all(a < b for a, b in pairwise(multipliers[:peak + 1])), multipliers  # rises
    assert all(a > b for a, b in pairwise(multipliers[peak:])), multipliers  # then falls
    assert multipliers[-1] == 1.0
    assert all(u["surge_multiplier"] != u["previous_multiplier"] for u in updates)  # published only on change

    def view() -> dict:
        return {zone["zone_id"]: zone for zone in worker.get_json("/surge/")["zones"]}

    wait_until(lambda: view().get(hot.zone_id, {}).get("surge_multiplier") == 1.0, 30, "the /surge/ view to settle")
    zones_view = view()
    assert zones_view[hot.zone_id]["panes"] == 0  # the burst's pane expired: state is bounded
    # at most the 5 panes of the next window plus the one the (15 s) lateness still holds open
    assert all(zone["panes"] <= 6 for zone in zones_view.values()), zones_view
    live = json.loads(redis.Redis.from_url(surge_settings.redis_url).hget(LiveStateKeys(surge_settings.topic_namespace).surge_current,
                                                                          hot.zone_id))
    assert live["surge_multiplier"] == 1.0 and live["demand_count"] == 0
