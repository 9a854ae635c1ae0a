"""The simulation against the real local broker: every event type lands on its catalog topic with the
catalog key and a decodable Avro value, trips complete, and a surge update written to the surge topic
changes the fares of later requests in that zone."""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict

import pytest
from confluent_kafka import Consumer, TopicPartition

from agents_sim.params import RiderParams, SimConfig
from agents_sim.simulation import Simulation
from agents_sim.sinks import KafkaSink, ListSink
from agents_sim.surge import KafkaSurge, StaticSurge
from core.producer import EventProducer
from core.settings import Settings
from schemas.catalog import CATALOG, topic_for_schema
from schemas.codec import decode

pytestmark = pytest.mark.integration

START = "2026-03-02T07:30:00-03:00"
# A busy little world: 300 riders requesting as often as a few thousand would, short trips, so that a
# 10-minute run sees requests, completions, payments and ratings.
BUSY = SimConfig(seed=21, drivers=50, riders=300, start=START,
                 rider=RiderParams(rides_per_week_median=400.0, trip_km_median=1.2, trip_km_sigma=0.3))
TEN_MIN_MS = 10 * 60_000


def _request_key(record: dict) -> tuple:
    """The same request in two runs (trip ids shift once the runs' outcomes differ)."""
    return record["rider_id"], record["event_time"], record["dropoff_lat"], record["dropoff_lon"]


def _read_all(settings: Settings, topic: str) -> list:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        messages, deadline = [], time.monotonic() + 60
        while sum(ends.values()) > len(messages) and time.monotonic() < deadline:
            for message in consumer.consume(5000, timeout=1.0):
                if message.error() is None:
                    messages.append(message)
        assert len(messages) == sum(ends.values()), f"read {len(messages)} of {sum(ends.values())} records of {topic}"
        return messages
    finally:
        consumer.close()


def test_ten_minute_run_produces_every_event_type_on_its_topic(topics: Settings) -> None:
    sink = KafkaSink(topics)
    sim = Simulation(BUSY, sink)
    sim.populate()
    sim.control_event("started")
    sim.run_until(sim.now + TEN_MIN_MS)
    sim.control_event("stopped")
    sink.flush()
    produced = dict(sim.events.by_schema)
    assert produced.get("payment", 0) > 0 and produced.get("rating", 0) > 0, produced

    for spec in CATALOG:
        if spec.value_schema is None or spec.key == "surge":  # surge is produced by the surge topology
            continue
        messages = _read_all(topics, spec.qualified(topics.topic_namespace))
        assert len(messages) == produced[spec.value_schema], spec.key
        for message in messages[:2000]:
            schema, record = decode(message.value())
            assert schema == spec.value_schema
            assert message.key().decode() == str(record[spec.key_field])
            headers = dict(message.headers())
            assert headers["event_type"].decode() == (record["event_type"] if schema == "trip_event" else schema)

    trips = _read_all(topics, topic_for_schema("trip_event").qualified(topics.topic_namespace))
    steps: dict[str, list[str]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for message in trips:
        _, record = decode(message.value())
        steps[record["trip_id"]].append(record["event_type"])
        partitions[record["trip_id"]].add(message.partition())
    assert sum(s[-1] == "completed" for s in steps.values()) > 0
    assert all(len(p) == 1 for p in partitions.values())  # all steps of a trip on one partition
    kinds = Counter(e for s in steps.values() for e in s)
    assert {"requested", "offer_sent", "driver_assigned", "en_route_pickup", "at_pickup", "in_transit", "completed"} <= kinds.keys()


def test_a_surge_update_on_the_topic_changes_later_fares_in_its_zone(topics: Settings) -> None:
    baseline = ListSink()
    sim = Simulation(BUSY, baseline, surge=StaticSurge())
    sim.populate()
    sim.run_until(sim.now + TEN_MIN_MS)
    requested = [r for r in baseline.of("trip_event") if r["event_type"] == "requested"]
    zone = Counter(r["pickup_zone_id"] for r in requested).most_common(1)[0][0]

    # 1.25 is below every rider's surge limit (1.3..3.0), so the same requests happen, only dearer.
    producer = EventProducer(topics)
    producer.send("surge_update", {
        "event_id": f"surge-{uuid.uuid4().hex}", "event_time": BUSY.start_ms, "session_id": "test", "correlation_id": zone,
        "causation_id": None, "zone_id": zone, "surge_multiplier": 1.25, "previous_multiplier": 1.0, "demand_count": 30,
        "supply_count": 5, "window_start": BUSY.start_ms - 60_000, "window_end": BUSY.start_ms,
    })
    producer.flush()
    surge = KafkaSurge(topics)
    try:
        deadline = time.monotonic() + 30
        while surge.multiplier(zone) == 1.0 and time.monotonic() < deadline:
            surge.poll(timeout_s=0.5)
        assert surge.multiplier(zone) == 1.25
        surged = ListSink()
        sim = Simulation(BUSY, surged, surge=surge)
        sim.populate()
        sim.run_until(sim.now + TEN_MIN_MS)
    finally:
        surge.close()

    before = {_request_key(r): r for r in requested}
    after = {_request_key(r): r for r in surged.of("trip_event") if r["event_type"] == "requested"}
    in_zone = [k for k, r in after.items() if r["pickup_zone_id"] == zone and k in before]
    assert in_zone
    for trip_id in in_zone:
        assert after[trip_id]["surge_multiplier"] == 1.25
        assert after[trip_id]["fare_estimate_brl"] == pytest.approx(before[trip_id]["fare_estimate_brl"] * 1.25, abs=0.011)
    assert all(r["surge_multiplier"] == 1.0 for r in after.values() if r["pickup_zone_id"] != zone)
    zone_trips = {r["trip_id"] for r in after.values() if r["pickup_zone_id"] == zone}
    payments = [p for p in surged.of("payment") if p["trip_id"] in zone_trips]
    assert all(p["surge_multiplier"] == 1.25 for p in payments)
