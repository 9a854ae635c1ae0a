"""The surge topology's side of the lockstep loop, on the real broker and Redis with a `rideshare worker`:
a step closes once the step marker of every source partition has arrived (not before, however far event
time has moved), its updates come out before a marker on every surge partition, each carrying the run
of the simulation that asked; a second run of the same session starts from scratch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer

from core.producer import EventProducer
from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec
from schemas.codec import decode
from schemas.markers import MARKED_TOPICS, StepMarker, parse_marker, run_id_of
from schemas.zones import zone_index
from tests.integration.topology_events import T0_MS, driver_available, fresh_settings, started_worker, trip_requested, wait_until

pytestmark = pytest.mark.integration

STEP_MS = 60_000


@pytest.fixture(scope="module")
def lockstep_settings(topics: Settings, redis_service: object, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return fresh_settings(topics, tmp_path_factory.mktemp("lockstep"))


@pytest.fixture(scope="module")
def worker(lockstep_settings: Settings) -> Iterator[WorkerProcess]:
    with started_worker(lockstep_settings, "dedup,gps,surge", assigned_topic="trips") as process:
        yield process


class SurgeReader:
    """Everything on the surge topic from the beginning: updates and markers, with their run ids."""

    def __init__(self, settings: Settings) -> None:
        self.consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": uuid.uuid4().hex,
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
        self.consumer.subscribe([topic_spec("surge").qualified(settings.topic_namespace)])
        self.records: list[tuple[int, str, Any]] = []  # (partition, run id, marker or surge_update)

    def read(self, seconds: float) -> list[tuple[int, str, Any]]:
        for message in self.consumer.consume(10_000, timeout=seconds):
            if message.error():
                continue
            headers = message.headers() or []
            marker = parse_marker(headers)
            self.records.append((message.partition(), run_id_of(headers), marker or decode(message.value())[1]))
        return self.records

    def markers(self, run_id: str, step_end: int) -> set[int]:
        return {p for p, run, item in self.records if run == run_id and isinstance(item, StepMarker) and item.step_end_ms == step_end}

    def updates(self, run_id: str) -> list[dict[str, Any]]:
        return [item for _, run, item in self.records if run == run_id and isinstance(item, dict)]

    def close(self) -> None:
        self.consumer.close()


def test_a_step_closes_on_the_markers_of_every_source_partition_and_answers_with_markers(lockstep_settings: Settings,
                                                                                        worker: WorkerProcess) -> None:
    index = zone_index()
    hot = next(zone for zone in index.zones if index.zone_of(zone.centroid_lat, zone.centroid_lon) == zone.zone_id)
    reader = SurgeReader(lockstep_settings)
    sim = EventProducer(lockstep_settings)
    try:
        step1 = T0_MS + STEP_MS
        sim.send_markers(StepMarker("itest", T0_MS))  # a lockstep run starts with a marker at its first instant
        sim.send("driver_status", driver_available("s1", T0_MS + 500, "D1", hot.zone_id))
        for i in range(20):
            sim.send("trip_event", trip_requested(f"r{i}", T0_MS + 1_000 + i, hot.zone_id))
        # event time runs far ahead in the next step, but no marker yet: in lockstep nothing may close
        sim.send("trip_event", trip_requested("later", step1 + 40_000, hot.zone_id))
        sim.flush()
        reader.read(5.0)
        assert not reader.updates(sim.run_id), "a lockstep step closed before its markers"
        partitions = sum(topic_spec(key).partitions for key in MARKED_TOPICS)
        assert sim.send_markers(StepMarker("itest", step1)) == partitions
        sim.flush()
        surge_partitions = set(range(topic_spec("surge").partitions))
        wait_until(lambda: reader.read(1.0) is not None and reader.markers(sim.run_id, step1) == surge_partitions, 90,
                   "a step marker on every surge partition")
        (update,) = [u for u in reader.updates(sim.run_id) if u["zone_id"] == hot.zone_id]
        assert update["surge_multiplier"] > 1.0 and (update["demand_count"], update["supply_count"]) == (20, 1)
        assert update["window_end"] == step1 and update["session_id"] == "itest"
        # per partition, the step's updates come before its marker
        for partition in surge_partitions:
            items = [item for p, run, item in reader.records if p == partition and run == sim.run_id]
            marker_at = next(i for i, item in enumerate(items) if isinstance(item, StepMarker))
            assert all(isinstance(item, dict) for item in items[:marker_at])
        # a second run of the same session (a new producer) starts from a clean slate, at the same event times
        rerun = EventProducer(lockstep_settings)
        assert rerun.run_id != sim.run_id
        rerun.send_markers(StepMarker("itest", T0_MS))
        rerun.send("trip_event", trip_requested("r0", T0_MS + 1_000, hot.zone_id))
        rerun.send_markers(StepMarker("itest", step1))
        rerun.flush()
        wait_until(lambda: reader.read(1.0) is not None and reader.markers(rerun.run_id, step1) == surge_partitions, 90,
                   "the second run's step markers")
        assert [u for u in reader.updates(rerun.run_id) if u["zone_id"] == hot.zone_id] == []  # 1 request, 0 drivers: no surge yet
    finally:
        reader.close()
