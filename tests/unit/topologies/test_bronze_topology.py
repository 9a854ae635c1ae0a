"""The bronze topology driven through its batch processor (no broker), real Delta files."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from deltalake import DeltaTable

from core.settings import Settings, load_settings
from lakehouse.bronze.specs import bronze_table_uri
from lakehouse.bronze.validation import KafkaRecord, Rejected
from rideshare.workers import build_worker_app
from schemas.codec import encode
from schemas.markers import StepMarker
from streams.app import context_of
from tests.unit.lakehouse.bronze_poison import kafka_key, valid_event
from tests.unit.topologies.batches import Message
from topologies.bronze import BronzeIngest, dead_letter_message, kafka_record

NOW_MS = int(time.time() * 1000)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(topic_namespace="unit.", local_dir=tmp_path / "local", lake_uri=str(tmp_path / "lake"),
                         bronze_batch_max_records=3, bronze_batch_max_seconds=0.2)


def gps_messages(count: int, *, first_offset: int = 0) -> list[Message]:
    events = [valid_event("gps_ping", n, NOW_MS) for n in range(first_offset, first_offset + count)]
    return [Message("unit.rideshare.gps", 0, first_offset + i, kafka_key("gps_ping", e), encode("gps_ping", e), timestamp=NOW_MS / 1000)
            for i, e in enumerate(events)]


def ingest_of(app: Any, topic_key: str = "gps") -> BronzeIngest:
    agent = next(a for a in app.topics.batch_agents if a.name.endswith(f"bronze-{topic_key}"))
    ingest: BronzeIngest = agent.processor.ingest
    ingest.checked.add(0)  # no broker here: the continuity check (topic id, end offsets) is covered with Kafka
    return ingest


def test_a_faust_message_becomes_a_kafka_record_with_millisecond_broker_time_and_its_headers() -> None:
    message = SimpleNamespace(topic="t.rideshare.gps", partition=4, offset=17, timestamp=1_767_607_200.123, key=b"D1", value=b"v",
                              headers=[("run_id", b"r")])
    assert kafka_record(message) == KafkaRecord("t.rideshare.gps", 4, 17, 1_767_607_200_123, b"D1", b"v", (("run_id", b"r"),))


def test_dead_letter_headers_carry_the_source_coordinates_and_the_reason() -> None:
    dead = Rejected(KafkaRecord("t.rideshare.trips", 2, 99, 1000, None, b"x"), "truncated", "body ends early")
    key, value, headers = dead_letter_message(dead)
    assert (key, value) == (None, b"x")
    assert dict(headers) == {"source_topic": b"t.rideshare.trips", "source_partition": b"2", "source_offset": b"99",
                             "source_timestamp_ms": b"1000", "error_type": b"truncated", "error_message": b"body ends early"}


def test_a_dead_letter_too_large_for_kafka_is_published_truncated_with_its_size_and_hash() -> None:
    import hashlib

    huge_value, huge_key = b"v" * 3_000_000, b"k" * 50_000
    dead = Rejected(KafkaRecord("t.rideshare.gps", 0, 5, 1000, huge_key, huge_value), "trailing_bytes", "m" * 10_000)
    key, value, headers = dead_letter_message(dead, max_bytes=512 * 1024)
    found = dict(headers)
    assert len(key or b"") + len(value or b"") + sum(len(n) + len(v) for n, v in headers) <= 512 * 1024
    assert found["value_truncated_from_bytes"] == b"3000000" and found["value_sha256"] == hashlib.sha256(huge_value).hexdigest().encode()
    assert found["key_truncated_from_bytes"] == b"50000" and len(found["error_message"]) <= 1024
    assert value == huge_value[: len(value or b"")]


def test_the_graph_declares_a_source_batch_and_delta_sink_per_topic_plus_the_dlq(settings: Settings) -> None:
    app = build_worker_app(settings, topologies=("bronze",), web_port=16067)
    graph = context_of(app).registry.topologies["bronze"]
    assert graph.nodes["bronze.gps"].target == "unit.rideshare.gps"
    assert graph.nodes["bronze.delta-driver_status"].target == bronze_table_uri(settings, "driver-status")
    assert ("bronze.gps", "bronze.batch-gps") in graph.edges and ("bronze.batch-gps", "bronze.delta-gps") in graph.edges
    assert ("bronze.batch-trips", "bronze.dlq-topic") in graph.edges
    assert sum(1 for agent in app.topics.batch_agents if "bronze-" in agent.name) == 9
    assert app.conf.id == "unit.rideshare-bronze"  # its own consumer group


def test_a_batch_lands_in_delta_markers_are_skipped_and_the_counts_follow(settings: Settings) -> None:
    app = build_worker_app(settings, topologies=("bronze",), web_port=16068)
    ingest = ingest_of(app)
    messages = gps_messages(5)
    messages.insert(2, Message("unit.rideshare.gps", 0, 5, None, None, headers=StepMarker("s", NOW_MS).headers()))
    held = asyncio.run(ingest.process(messages))
    assert held == []
    rows = DeltaTable(bronze_table_uri(settings, "gps")).to_pandas()
    assert len(rows) == 5 and DeltaTable(bronze_table_uri(settings, "gps")).transaction_version("gps:unit.rideshare.gps:0") == 5
    assert context_of(app).registry.node("bronze.delta-gps").events_out == 5
    assert context_of(app).metrics.events_processed.labels("bronze")._value.get() == 6


def test_a_stopped_partition_is_held_back_and_never_written(settings: Settings) -> None:
    app = build_worker_app(settings, topologies=("bronze",), web_port=16070)
    ingest = ingest_of(app)
    ingest.stopped[0] = "its offsets restarted"
    messages = gps_messages(3)
    assert asyncio.run(ingest.process(messages)) == messages
    assert not Path(bronze_table_uri(settings, "gps")).exists()


def test_a_batch_that_cannot_reach_the_lake_is_retried_until_it_lands_and_never_returns_early(tmp_path: Path) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake folder should be")  # every Delta write fails until it is removed
    settings = load_settings(topic_namespace="unit.", local_dir=tmp_path / "local", lake_uri=str(blocker / "inner"))
    app = build_worker_app(settings, topologies=("bronze",), web_port=16071)
    ingest = ingest_of(app)
    records = [kafka_record(m) for m in gps_messages(1)]

    async def run() -> int:
        task = asyncio.create_task(ingest.ingest(records))
        for _ in range(200):
            if ingest.nodes["batch"].errors >= 2:
                break
            await asyncio.sleep(0.05)
        assert not task.done(), "ingest must not return (and let the batch be acked) before the commit succeeds"
        blocker.unlink()
        result = await asyncio.wait_for(task, 30)
        return result.written

    assert asyncio.run(run()) == 1
    assert context_of(app).metrics.bronze_retries.labels("gps", "lake_unreachable")._value.get() >= 2
    assert len(DeltaTable(bronze_table_uri(settings, "gps")).to_pandas()) == 1


def test_a_commit_that_keeps_failing_with_the_lake_up_is_dead_lettered_after_the_attempts(settings: Settings,
                                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from deltalake.exceptions import DeltaError

    app = build_worker_app(settings.model_copy(update={"bronze_max_batch_attempts": 2}), topologies=("bronze",), web_port=16072)
    ingest = ingest_of(app)
    real_append = ingest.writer._events_log.append
    monkeypatch.setattr(ingest.writer._events_log, "append", lambda *a, **k: (_ for _ in ()).throw(DeltaError("invariant violated")))
    monkeypatch.setattr("topologies.bronze.MAX_RETRY_DELAY_S", 0.01)
    records = [kafka_record(m) for m in gps_messages(2)]
    result = asyncio.run(ingest.ingest(records))
    monkeypatch.setattr(ingest.writer._events_log, "append", real_append)
    assert (result.written, result.error_types) == (0, {"delta_commit_failed": 2})
    dlq = DeltaTable(bronze_table_uri(settings, "dlq")).to_pandas()
    assert list(dlq["error_type"]) == ["delta_commit_failed"] * 2 and "invariant violated" in dlq["error_message"][0]


def test_stopping_the_agent_mid_commit_lets_the_batch_reach_delta_before_its_offsets_are_acked(settings: Settings) -> None:
    app = build_worker_app(settings, topologies=("bronze",), web_port=16069)
    processor = next(a for a in app.topics.batch_agents if a.name.endswith("bronze-gps")).processor
    processor.ingest.checked.add(0)
    writer = processor.ingest.writer
    real_commit = writer.commit
    commit_started = threading.Event()

    def slow_commit(plan, dead_letter_events=None):  # type: ignore[no-untyped-def]
        commit_started.set()
        time.sleep(1.0)  # the worker is told to stop while the Delta commit is in flight
        return real_commit(plan, dead_letter_events)

    writer.commit = slow_commit

    async def drive() -> None:
        task = asyncio.create_task(processor.process(gps_messages(3)))
        while not commit_started.is_set():
            await asyncio.sleep(0.02)
        task.cancel()  # what a worker stop does to the agent
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(drive())
    assert len(DeltaTable(bronze_table_uri(settings, "gps")).to_pandas()) == 3
