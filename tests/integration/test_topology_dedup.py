"""Real broker + Redis + a real `rideshare worker` process: duplicates never reach the GPS outputs."""

from __future__ import annotations

import json
import random
import urllib.error
from collections.abc import Iterator

import pytest
import redis

from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec
from schemas.codec import encode
from schemas.live_state import LiveStateKeys
from streams.app import GC_YOUNG_THRESHOLD
from tests.integration.topology_events import (
    T0_MS,
    ChannelRecorder,
    fresh_settings,
    gps_ping,
    producer,
    started_worker,
    wait_until,
)

pytestmark = pytest.mark.integration

DRIVERS = 60
PINGS_PER_DRIVER = 10


@pytest.fixture(scope="module")
def dedup_settings(topics: Settings, redis_service: object, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return fresh_settings(topics, tmp_path_factory.mktemp("dedup-worker"))


@pytest.fixture(scope="module")
def worker(dedup_settings: Settings) -> Iterator[WorkerProcess]:
    with started_worker(dedup_settings, "dedup,gps", assigned_topic="gps") as process:
        yield process


def test_the_running_worker_has_its_garbage_collector_tuned(worker: WorkerProcess) -> None:
    # partitions are assigned (the fixture's wait) before the worker starts its services, the tuning first
    wait_until(lambda: worker.get_json("/topology/")["collector"]["thresholds"][0] == GC_YOUNG_THRESHOLD, 60, "the tuning")
    assert worker.get_json("/topology/")["collector"]["frozen"] > 10_000


def test_a_routed_view_answers_before_the_first_checkpoint(worker: WorkerProcess) -> None:
    # nothing was written to the table's changelog yet: the view still knows where the key lives
    with pytest.raises(urllib.error.HTTPError) as answer:
        worker.get_json("/positions/D999/")
    assert answer.value.code == 404
    # the first assignment already held the changelog's partitions, created a moment before the group was joined
    assert "Ignoring missing topic" not in worker.log_path.read_text()


def test_ten_percent_exact_duplicates_are_counted_once_by_the_gps_windows(dedup_settings: Settings, worker: WorkerProcess) -> None:
    keys = LiveStateKeys(dedup_settings.topic_namespace)
    rng = random.Random(7)
    events = []
    for i in range(PINGS_PER_DRIVER):  # in event-time order, as the simulation emits them
        for driver in range(DRIVERS):
            lat, lon = -23.55 + driver * 0.001 + i * 1e-4, -46.63
            events.append(gps_ping(f"g-{driver}-{i}", T0_MS + i * 1000 + driver, f"D{driver:03d}", lat, lon))
    duplicate_ids = set(rng.sample(range(len(events)), len(events) // 10))
    recorder = ChannelRecorder(dedup_settings, keys.positions_channel)
    try:
        send = producer(dedup_settings)
        topic = topic_spec("gps").qualified(dedup_settings.topic_namespace)
        late_duplicates = []
        for index, record in enumerate(events):
            value = encode("gps_ping", record)
            send.send_raw(topic, record["entity_id"].encode(), value)
            if index in duplicate_ids:  # the exact same bytes again: a producer retry or a replay
                (late_duplicates if index % 2 else []).append((record, value))
                if index % 2 == 0:
                    send.send_raw(topic, record["entity_id"].encode(), value)
        for record, value in late_duplicates:  # redelivered later, after other events of its partition
            send.send_raw(topic, record["entity_id"].encode(), value)
        # one ping per driver far later closes every window on every partition
        for driver in range(DRIVERS):
            send.send("gps_ping", gps_ping(f"g-{driver}-end", T0_MS + 60_000, f"D{driver:03d}", -23.5, -46.6))
        send.flush()

        expected_pings = DRIVERS * PINGS_PER_DRIVER

        def counted() -> int:
            return sum(p["ping_count"] for m in list(recorder.messages) for p in m["positions"] if p["window_end"] <= T0_MS + 60_000)

        wait_until(lambda: counted() >= expected_pings, 60, f"{expected_pings} pings in closed GPS windows (see {worker.log_path})")
    finally:
        recorder.close()
    windows = [(p["entity_id"], p["window_end"]) for m in recorder.messages for p in m["positions"]]
    assert len(windows) == len(set(windows)), "a window was published twice"
    assert counted() == expected_pings  # exactly: not one duplicate slipped through

    graph = {node["id"]: node for topo in worker.get_json("/topology/")["topologies"] for node in topo["nodes"]}
    total = expected_pings + len(duplicate_ids) + DRIVERS
    assert graph["dedup.seen-gps"]["events_in"] == total
    assert graph["dedup.seen-gps"]["events_out"] == total - len(duplicate_ids)
    metrics = worker.get_text("/metrics")
    assert f'rideshare_dedup_drops_total{{topic="gps"}} {float(len(duplicate_ids))}' in metrics

    live = redis.Redis.from_url(dedup_settings.redis_url)
    assert live.zcard(keys.positions_geo) == DRIVERS
    latest = {k.decode(): json.loads(v) for k, v in live.hgetall(keys.positions_latest).items()}
    assert len(latest) == DRIVERS and all(v["ping_count"] >= 1 for v in latest.values())
    density = [json.loads(v) for v in live.hgetall(keys.density_h3).values()]
    assert sum(cell["drivers"] for cell in density) == DRIVERS  # each driver counted in exactly one cell


def test_positions_view_serves_an_entity_window(dedup_settings: Settings, worker: WorkerProcess) -> None:
    view = worker.get_json("/positions/D007/")
    assert view["entity_id"] == "D007" and view["ping_count"] >= 1
