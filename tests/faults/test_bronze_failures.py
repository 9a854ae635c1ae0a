"""Permanent bronze failures are dead-lettered with their reason and ingestion goes on; a topic whose
offsets restarted stops bronze (an error and a metric, never a silent skip) until it is rebased."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from deltalake import DeltaTable

from core.producer import EventProducer
from core.settings import Settings
from lakehouse.bronze.specs import arrow_schema, bronze_table_uri
from rideshare.topics import wait_until_writable
from rideshare.worker_process import WorkerProcess, settings_env
from schemas.catalog import topic_spec
from tests.faults.streams_support import log_of, metric, produce_gps, wait_for_value
from tests.integration.bronze_support import bronze_rows, isolated_settings

pytestmark = pytest.mark.integration


def dlq_topic_records(settings: Settings) -> list[tuple[bytes | None, bytes | None, dict[str, bytes]]]:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": f"{settings.topic_namespace}dlq-reader",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, "fetch.max.bytes": 4 * 1024 * 1024})
    consumer.subscribe([topic_spec("dlq").qualified(settings.topic_namespace)])
    found = []
    try:
        for message in consumer.consume(100, timeout=10):
            if not message.error():
                found.append((message.key(), message.value(), dict(message.headers() or [])))
    finally:
        consumer.close()
    return found


def recreate(settings: Settings, topic_key: str) -> None:
    """Delete the topic and create it again (the broker finishes a deletion asynchronously: retry the create)."""
    spec = topic_spec(topic_key)
    topic = spec.qualified(settings.topic_namespace)
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    admin.delete_topics([topic])[topic].result()
    deadline = time.monotonic() + 60
    while True:
        try:
            admin.create_topics([NewTopic(topic, spec.partitions, 1, config=spec.config)])[topic].result()
            wait_until_writable(admin, [(topic, p) for p in range(spec.partitions)])
            return
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_dead_letters_too_large_for_kafka_and_a_schema_change_do_not_stop_the_partition(kafka: object, service_settings: Settings,
                                                                                        tmp_path: Path) -> None:
    settings = isolated_settings(service_settings, f"permanent{uuid.uuid4().hex[:6]}", tmp_path, bronze_batch_max_records=500,
                                 bronze_batch_max_seconds=0.5)
    # The gps table already exists with speed_kmh as text (an incompatible schema change)
    schema = arrow_schema("gps")
    changed = pa.schema([field.with_type(pa.string()) if field.name == "speed_kmh" else field for field in schema])
    DeltaTable.create(bronze_table_uri(settings, "gps"), changed, partition_by=["event_date"])
    big = EventProducer(settings, **{"message.max.bytes": 1_100_000})
    huge_value = b"\x00" + os.urandom(1_040_000)  # accepted by the broker, more than a Faust producer request holds
    huge_key = b"k" * 300_000
    big.send_raw(topic_spec("trips").qualified(settings.topic_namespace), b"trip-1", huge_value)
    big.send_raw(topic_spec("trips").qualified(settings.topic_namespace), huge_key, b"\x00junk")
    big.flush()
    produce_gps(settings, 40, start_ms=int(time.time() * 1000))
    worker = WorkerProcess(settings, role="bronze", log_path=tmp_path / "bronze.log").start()
    try:
        dlq = wait_for_value(lambda: bronze_rows(settings, "dlq"), lambda rows: len(rows) == 42, timeout_s=120,
                             what="every record dead-lettered or written", worker=worker)
        reasons = dlq.groupby("error_type").size().to_dict()
        assert reasons == {"not_single_object": 2, "delta_schema_mismatch": 40}
        whole = dlq[dlq["error_type"] == "not_single_object"].sort_values("kafka_offset")
        assert sorted(len(value) for value in whole["raw_value"]) == [5, len(huge_value)]  # the table keeps every byte
        published = dlq_topic_records(settings)
        assert len(published) == 2
        truncated = next(headers for _, _, headers in published if "value_truncated_from_bytes" in headers)
        assert truncated["value_truncated_from_bytes"] == str(len(huge_value)).encode()
        assert truncated["value_sha256"] == hashlib.sha256(huge_value).hexdigest().encode()
        key_cut = next(headers for _, _, headers in published if "key_truncated_from_bytes" in headers)
        assert key_cut["key_sha256"] == hashlib.sha256(huge_key).hexdigest().encode()
        # nothing is retried for ever: the partitions moved on, and new records keep flowing
        produce_gps(settings, 10, start_ms=int(time.time() * 1000), prefix="later")
        wait_for_value(lambda: len(bronze_rows(settings, "dlq")), lambda n: n == 52, timeout_s=60, what="later records", worker=worker)
        assert metric(worker, "rideshare_bronze_retries") == 0
    finally:
        worker.stop()


def test_a_recreated_topic_stops_bronze_with_an_error_until_it_is_rebased(kafka: object, service_settings: Settings,
                                                                         tmp_path: Path) -> None:
    settings = isolated_settings(service_settings, f"recreated{uuid.uuid4().hex[:6]}", tmp_path, bronze_batch_max_records=500,
                                 bronze_batch_max_seconds=0.5)
    produce_gps(settings, 120, start_ms=int(time.time() * 1000))
    worker = WorkerProcess(settings, role="bronze", log_path=tmp_path / "bronze.log").start()
    gps = topic_spec("gps").qualified(settings.topic_namespace)
    try:
        wait_for_value(lambda: len(bronze_rows(settings, "gps")), lambda n: n == 120, timeout_s=90, what="the first records", worker=worker)
        recreate(settings, "gps")
        produce_gps(settings, 24, start_ms=int(time.time() * 1000), prefix="new")  # offsets start at 0 again
        wait_for_value(lambda: metric(worker, "rideshare_bronze_offset_discontinuity", topic="gps"), lambda n: n >= 1,
                       timeout_s=120, what="bronze to stop the recreated topic", worker=worker)
        assert len(bronze_rows(settings, "gps")) == 120  # nothing of the new topic skipped nor mixed in
        assert "was recreated" in log_of(worker) and "rideshare lakehouse rebase gps --new-generation" in log_of(worker)
        health = worker.get_json("/healthz")
        assert health["status"] == "ok" and any(tp.startswith(gps) for tp in health["stopped"])
        env = {k: v for k, v in os.environ.items() if not k.startswith("RIDESHARE_")} | settings_env(settings)
        rebased = subprocess.run([sys.executable, "-m", "rideshare.cli", "lakehouse", "rebase", "gps", "--new-generation"],
                                 env=env, capture_output=True, text=True, timeout=60)
        assert rebased.returncode == 0, rebased.stderr
        wait_for_value(lambda: len(bronze_rows(settings, "gps")), lambda n: n == 144, timeout_s=90,
                       what="the new topic ingested after the rebase", worker=worker)
        assert metric(worker, "rideshare_bronze_offset_discontinuity", topic="gps") == 0
    finally:
        worker.stop()
