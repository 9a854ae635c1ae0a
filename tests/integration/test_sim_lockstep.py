"""The closed surge loop through the real broker with `rideshare worker` processes (lockstep mode):

- the same seed run twice, once with one worker and once with two, gives identical event logs on every
  topic (record by record, partition by partition, the surge topology's updates and markers included),
  with surge updates present and applied to the fares of later requests;
- a demand burst in one zone raises that zone's fares in the next step and not before;
- without a surge worker a step times out with an error that says what to start.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from agents_sim.exceptions import SurgeLoopError
from agents_sim.params import RiderParams, SimConfig
from agents_sim.pricing import fare_brl
from agents_sim.runtime import SimulationRuntime
from agents_sim.simulation import Simulation
from agents_sim.sinks import KafkaSink
from agents_sim.surge import LockstepSurge
from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.catalog import CATALOG, topic_spec
from schemas.codec import decode
from schemas.markers import parse_marker
from tests.integration.topology_events import fresh_settings, wait_until
from tests.sim_requests import ask_in_zone

pytestmark = pytest.mark.integration

STEP_MS = 60_000
MINUTES = 20
TOPOLOGIES = "dedup,gps,surge"
# A busy little world at the PM peak: riders asking often for short trips, so that the central zones
# surge within two simulated minutes and some surged trips complete within twenty.
BUSY = SimConfig(seed=4242, drivers=120, riders=400, start="2026-03-02T17:30:00-03:00",
                 rider=RiderParams(rides_per_week_median=200.0, trip_km_median=1.5, trip_km_sigma=0.3))


def _workers(settings: Settings, count: int, logs: Path) -> list[WorkerProcess]:
    """`count` workers with the surge topology, started one after the other (as an operator adds them)."""
    trips = topic_spec("trips").qualified(settings.topic_namespace)
    started: list[WorkerProcess] = []
    try:
        for i in range(count):
            worker = WorkerProcess(settings, topologies=TOPOLOGIES, log_path=logs / f"worker-{i}.log").start()
            started.append(worker)
            worker.wait_assigned(trips)
        if count > 1:
            wait_until(lambda: all(w.assigned(trips) for w in started), 90, "every worker to own trips partitions")
        return started
    except BaseException:
        for worker in started:
            worker.stop()
        raise


def _worker_fixture(count: int) -> Callable[..., Iterator[Settings]]:
    """A module fixture: own namespace and `count` running surge workers for it."""
    def fixture(topics: Settings, redis_service: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
        settings = fresh_settings(topics, tmp_path_factory.mktemp(f"lockstep-{count}"))
        workers = _workers(settings, count, settings.local_dir)
        yield settings
        for worker in workers:
            worker.stop()
    return fixture


one_worker = pytest.fixture(scope="module", name="one_worker")(_worker_fixture(1))
two_workers = pytest.fixture(scope="module", name="two_workers")(_worker_fixture(2))


def _lockstep_run(settings: Settings, config: SimConfig, minutes: int) -> LockstepSurge:
    sink = KafkaSink(settings)
    surge = LockstepSurge(settings, sink.producer, timeout_s=180)
    runtime = SimulationRuntime(config, sink, surge=surge, speed="max", end_ms=config.start_ms + minutes * 60_000)
    runtime.start()
    try:
        assert runtime.wait(900), "the lockstep run did not finish"
    finally:
        runtime.stop()
    assert runtime.error is None, repr(runtime.error)
    assert surge.steps == minutes - 1 and runtime.surge_wait_s > 0
    return surge


def _log(settings: Settings, topic_key: str) -> dict[int, list[tuple[Any, ...]]]:
    """Every record of a topic, per partition in offset order: (key, value) of events, ("marker", session, step)
    of step markers. Headers (producer run id, wall-clock send time) are producer metadata, left out."""
    topic = topic_spec(topic_key).qualified(settings.topic_namespace)
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": uuid.uuid4().hex, "enable.auto.commit": False})
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        records: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        remaining = sum(ends.values())
        wait_until(lambda: _drain(consumer, records, ends) >= remaining, 120, f"all {remaining} records of {topic}", poll_s=0)
        return dict(records)
    finally:
        consumer.close()


def _drain(consumer: Consumer, records: dict[int, list[tuple[Any, ...]]], ends: dict[int, int]) -> int:
    for message in consumer.consume(5000, timeout=0.5):
        if message.error() is None and message.offset() < ends[message.partition()]:
            marker = parse_marker(message.headers())
            item = ("marker", marker.session_id, marker.step_end_ms) if marker else (message.key(), message.value())
            records[message.partition()].append(item)
    return sum(len(items) for items in records.values())


def _decoded(log: dict[int, list[tuple[Any, ...]]]) -> list[dict[str, Any]]:
    return [decode(item[1])[1] for items in log.values() for item in items if item[0] != "marker"]


def test_the_same_seed_through_kafka_in_lockstep_gives_identical_logs_with_one_worker_or_two(
        one_worker: Settings, two_workers: Settings) -> None:
    _lockstep_run(one_worker, BUSY, MINUTES)
    _lockstep_run(two_workers, BUSY, MINUTES)
    logs = {}
    for spec in CATALOG:
        if spec.value_schema is None:
            continue
        one, two = _log(one_worker, spec.key), _log(two_workers, spec.key)
        assert one == two, f"the {spec.key} topics differ between the one-worker and the two-worker run"
        logs[spec.key] = one
    assert sum(len(items) for items in logs["gps"].values()) > 15_000  # ~21,000 pings in 20 minutes

    # surge updates are there, and every request was quoted at the latest multiplier of its zone from the
    # steps before it (what the topology published for steps ending at or before the request)
    updates = sorted(_decoded(logs["surge"]), key=lambda u: u["window_end"])
    assert updates and all(u["session_id"] == BUSY.resolved_session_id for u in updates)
    history: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for update in updates:
        history[update["zone_id"]].append((update["window_end"], update["surge_multiplier"]))
    requests = [t for t in _decoded(logs["trips"]) if t["event_type"] == "requested"]
    for request in requests:
        known = [m for end, m in history[request["pickup_zone_id"]] if end <= request["event_time"]]
        assert request["surge_multiplier"] == (min(known[-1], BUSY.pricing.surge_cap) if known else 1.0), request
    surged = {t["trip_id"] for t in requests if t["surge_multiplier"] > 1.0}
    assert surged, "no request was surged"
    # ... and the fares of the surged trips that completed were charged at that multiplier
    pricing = BUSY.pricing
    fares = {t["trip_id"]: t for t in _decoded(logs["trips"]) if t["event_type"] == "completed" and t["trip_id"] in surged}
    assert fares, "no surged trip completed"
    for trip in fares.values():
        unsurged = fare_brl(pricing, trip["route_distance_km"], trip["route_duration_s"] / 60)
        assert trip["fare_brl"] == pytest.approx(unsurged * trip["surge_multiplier"], abs=0.02) and trip["fare_brl"] > unsurged
    paid = {p["trip_id"]: p for p in _decoded(logs["payments"]) if p["trip_id"] in fares}
    assert paid.keys() == fares.keys() and all(p["fare_brl"] == fares[p["trip_id"]]["fare_brl"] for p in paid.values())


def test_a_demand_burst_in_one_zone_raises_its_fares_in_the_next_step_and_not_before(one_worker: Settings) -> None:
    config = SimConfig(seed=99, drivers=150, riders=1500, start="2026-03-02T11:00:00-03:00", session_id="burst-test")
    sink = KafkaSink(one_worker)
    surge = LockstepSurge(one_worker, sink.producer, timeout_s=180)
    sim = Simulation(config, sink, surge=surge)
    sim.populate()
    start = config.start_ms
    for minute in range(1, 11):  # ten calm minutes through the loop
        sim.run_until(start + minute * STEP_MS)
        surge.complete_step(sim.session_id, start + minute * STEP_MS)
    calm = surge.snapshot()
    zone = next(z.zone_id for z in sim.city.area_zones if calm.get(z.zone_id, 1.0) == 1.0)
    idle = [r for r in sim.riders.values() if r.status == "idle"]

    sim.run_until(start + 10 * STEP_MS + 15_000)
    burst = ask_in_zone(sim, idle[:40], zone)
    assert all(t is not None and t.surge_multiplier == 1.0 for t in burst), "the burst's own step is not surged"
    next_step = start + 11 * STEP_MS
    sim.run_until(next_step)
    assert surge.multiplier(zone) == 1.0, "nothing changes before the step closes"
    surge.complete_step(sim.session_id, next_step)
    raised = surge.multiplier(zone)
    assert raised > 1.0, f"zone {zone} was not surged after a burst of 40 requests"
    sim.run_until(next_step + 1_000)
    after = [t for t in ask_in_zone(sim, idle[40:60], zone) if t is not None]
    assert after and all(t.surge_multiplier == raised for t in after)
    assert all(t.fare_estimate_brl > 0 for t in after)
    sink.flush()
    surge.close()


def test_without_a_surge_worker_the_step_times_out_saying_what_to_start(topics: Settings) -> None:
    sink = KafkaSink(topics)  # the module's namespace: topics exist, no worker reads them
    surge = LockstepSurge(topics, sink.producer, timeout_s=3)
    sim = Simulation(SimConfig(seed=5, drivers=5, riders=20, session_id="nobody-listens"), sink, surge=surge)
    sim.populate()
    boundary = (sim.now // STEP_MS + 1) * STEP_MS
    sim.run_until(boundary)
    started = time.monotonic()
    with pytest.raises(SurgeLoopError, match=r"Start a worker with the surge topology.*rideshare worker") as failure:
        surge.complete_step(sim.session_id, boundary)
    assert 3 <= time.monotonic() - started < 30
    assert f"missing on partition(s) {list(range(12))}" in str(failure.value)
    sink.flush()
    surge.close()
