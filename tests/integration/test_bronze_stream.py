"""Bronze against the real broker, a real `rideshare worker --topologies bronze` and real Delta tables."""

from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer

from core.producer import EventProducer
from core.settings import Settings
from rideshare.infra import KafkaService
from schemas.catalog import topic_for_schema, topic_spec
from tests.integration.bronze_support import (
    BronzeWorkerProcess,
    assert_every_offset_exactly_once,
    bronze_rows,
    isolated_settings,
    wait_for,
)
from tests.unit.lakehouse.bronze_poison import poison_cases, valid_event

pytestmark = pytest.mark.integration

SCHEMAS = ("trip_event", "gps_ping", "driver_status", "payment", "rating")


def test_every_kafka_record_lands_once_and_exact_duplicates_stay_separate_rows(
    kafka: KafkaService, settings: Settings, tmp_path: Path
) -> None:
    lake = isolated_settings(settings, "bronzedup", tmp_path, bronze_batch_max_records=500, bronze_batch_max_seconds=0.5)
    rng = random.Random(4)
    now_ms = int(time.time() * 1000)
    producer = EventProducer(lake)
    sent: Counter[tuple[str, str]] = Counter()
    for n in range(4000):
        schema = SCHEMAS[n % len(SCHEMAS)]
        event = valid_event(schema, n, now_ms + n)
        copies = 2 if rng.random() < 0.10 else 1  # 10% exact duplicates: the same bytes produced twice
        for _ in range(copies):
            producer.send(schema, event)
            sent[(schema, event["event_id"])] += 1
    producer.flush()
    per_topic = Counter(topic_for_schema(schema).key for schema, _ in sent.elements())

    worker = BronzeWorkerProcess(lake, tmp_path / "worker.log").start()
    try:
        wait_for(lambda: all(len(bronze_rows(lake, key, ["kafka_offset"])) >= count for key, count in per_topic.items()),
                 timeout_s=90, what="every produced record in bronze", worker=worker)
        time.sleep(1.5)  # a doubled batch would show up now
    finally:
        assert worker.stop() is not None
    for key, count in per_topic.items():
        assert assert_every_offset_exactly_once(lake, key) == count
        rows = bronze_rows(lake, key, ["event_id"])
        schema = topic_spec(key).value_schema
        assert Counter(rows["event_id"]) == Counter({eid: c for (s, eid), c in sent.items() if s == schema})
    assert sum(c - 1 for c in sent.values()) > 300  # the duplicates really were produced
    assert len(bronze_rows(lake, "dlq", ["kafka_offset"])) == 0


def _or_none(value: object) -> object:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _dead_letters_on_topic(lake: Settings, expected: int) -> list[dict[str, bytes | None]]:
    consumer = Consumer({"bootstrap.servers": lake.bootstrap_servers, "group.id": f"{lake.topic_namespace}dlq-check",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic_spec("dlq").qualified(lake.topic_namespace)])
    letters: list[dict[str, bytes | None]] = []
    deadline = time.monotonic() + 30
    try:
        while len(letters) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            letters.append(dict(message.headers() or []) | {"key": message.key(), "value": message.value()})
    finally:
        consumer.close()
    return letters


def test_poison_records_land_in_the_dlq_topic_and_table_with_a_reason_while_valid_records_keep_flowing(
    kafka: KafkaService, settings: Settings, tmp_path: Path
) -> None:
    lake = isolated_settings(settings, "bronzepoison", tmp_path, bronze_batch_max_records=200, bronze_batch_max_seconds=0.5)
    now_ms = int(time.time() * 1000)
    cases = poison_cases(now_ms)
    producer = EventProducer(lake)
    valid_per_topic: Counter[str] = Counter()
    for round_ in range(3):  # valid records before, between and after the poison
        for n in range(100):
            schema = SCHEMAS[n % len(SCHEMAS)]
            producer.send(schema, valid_event(schema, round_ * 1000 + n, now_ms))
            valid_per_topic[topic_for_schema(schema).key] += 1
        if round_ == 1:
            for case in cases:
                producer.send_raw(topic_spec(case.topic_key).qualified(lake.topic_namespace), case.key, case.value)
    producer.flush()

    worker = BronzeWorkerProcess(lake, tmp_path / "worker.log").start()
    try:
        wait_for(lambda: len(bronze_rows(lake, "dlq", ["kafka_offset"])) >= len(cases)
                 and all(len(bronze_rows(lake, key, ["kafka_offset"])) >= n for key, n in valid_per_topic.items()),
                 timeout_s=90, what="all poison in the DLQ table and all valid records in bronze", worker=worker)
        letters = _dead_letters_on_topic(lake, len(cases))
        worker.assert_alive()  # poison never crashes the worker
        metrics = httpx.get(f"http://127.0.0.1:{worker.port}/metrics", timeout=10).text
    finally:
        worker.stop()

    for key, count in valid_per_topic.items():
        assert len(bronze_rows(lake, key, ["kafka_offset"])) == count
    dlq = bronze_rows(lake, "dlq")
    assert len(dlq) == len(cases)
    table_reasons = {(row.kafka_topic, _or_none(row.kafka_key), _or_none(row.raw_value)): (row.error_type, row.error_message)
                     for row in dlq.itertuples()}
    for case in cases:
        topic = topic_spec(case.topic_key).qualified(lake.topic_namespace)
        key_text = None if case.key is None else case.key.decode("utf-8", errors="replace")
        error_type, message = table_reasons[(topic, key_text, case.value)]
        assert error_type == case.error_type, case.name
        assert message, case.name
    topic_reasons = Counter((letter["source_topic"], letter["key"], letter["value"], letter["error_type"]) for letter in letters)
    expected = Counter((topic_spec(c.topic_key).qualified(lake.topic_namespace).encode(), c.key, c.value, c.error_type.encode())
                       for c in cases)
    assert topic_reasons == expected
    assert all(letter["source_partition"] is not None and letter["source_offset"] is not None for letter in letters)
    dlq_counted = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith("rideshare_dlq_records_total{"))
    assert dlq_counted == len(cases)
    assert 'rideshare_bronze_commit_seconds_count{table="gps"}' in metrics


def test_two_workers_split_the_partitions_and_commit_side_by_side_exactly_once(
    kafka: KafkaService, settings: Settings, tmp_path: Path
) -> None:
    lake = isolated_settings(settings, "bronzetwo", tmp_path, bronze_batch_max_records=500, bronze_batch_max_seconds=0.5)
    now_ms = int(time.time() * 1000)
    first = BronzeWorkerProcess(lake, tmp_path / "first.log").start()
    second = BronzeWorkerProcess(lake, tmp_path / "second.log").start()
    try:
        producer = EventProducer(lake)
        per_topic: Counter[str] = Counter()
        for n in range(12_000):  # produced while the two workers join: batches land across the rebalance
            schema = ("gps_ping", "trip_event", "driver_status")[n % 3]
            producer.send(schema, valid_event(schema, n, now_ms + n))
            per_topic[topic_for_schema(schema).key] += 1
        producer.flush()
        wait_for(lambda: all(len(bronze_rows(lake, key, ["kafka_offset"])) >= count for key, count in per_topic.items()),
                 timeout_s=120, what="every record in bronze", worker=first)
        second.assert_alive()
        time.sleep(1.5)
    finally:
        first.stop()
        second.stop()
    for key, count in per_topic.items():
        assert assert_every_offset_exactly_once(lake, key) == count
    gps_assignment = re.compile(r"rideshare\.gps\s+\|\s+\{[\d, -]+\}")
    assert gps_assignment.search(first.log()) and gps_assignment.search(second.log()), "both workers must own gps partitions"
