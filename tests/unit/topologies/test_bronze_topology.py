"""The bronze topology: its agents driven through Faust's test_context (no broker), real Delta files."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from deltalake import DeltaTable

from core.settings import Settings, load_settings
from lakehouse.bronze.specs import bronze_table_uri
from lakehouse.bronze.validation import KafkaRecord, Rejected
from lakehouse.bronze.writer import BronzeWriter
from rideshare.workers import build_worker_app
from schemas.codec import encode
from streams.app import context_of
from streams.graph import Topology
from streams.metrics import StreamMetrics
from tests.unit.lakehouse.bronze_poison import kafka_key, valid_event
from topologies.bronze import BronzeIngest, dead_letter_headers, kafka_record

NOW_MS = int(time.time() * 1000)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(topic_namespace="unit.", local_dir=tmp_path / "local", lake_uri=str(tmp_path / "lake"),
                         bronze_batch_max_records=3, bronze_batch_max_seconds=0.2)


def test_a_faust_message_becomes_a_kafka_record_with_millisecond_broker_time() -> None:
    message = SimpleNamespace(topic="t.rideshare.gps", partition=4, offset=17, timestamp=1_767_607_200.123, key=b"D1", value=b"v")
    assert kafka_record(message) == KafkaRecord("t.rideshare.gps", 4, 17, 1_767_607_200_123, b"D1", b"v")


def test_dead_letter_headers_carry_the_source_coordinates_and_the_reason() -> None:
    dead = Rejected(KafkaRecord("t.rideshare.trips", 2, 99, 1000, None, b"x"), "truncated", "body ends early")
    assert dict(dead_letter_headers(dead)) == {
        "source_topic": b"t.rideshare.trips", "source_partition": b"2", "source_offset": b"99",
        "source_timestamp_ms": b"1000", "error_type": b"truncated", "error_message": b"body ends early",
    }


def test_the_graph_declares_a_source_batch_and_delta_sink_per_topic_plus_the_dlq(settings: Settings) -> None:
    app = build_worker_app(settings, topologies=("bronze",), web_port=16067)
    graph = context_of(app).registry.topologies["bronze"]
    assert graph.nodes["bronze.gps"].target == "unit.rideshare.gps"
    assert graph.nodes["bronze.delta-driver_status"].target == bronze_table_uri(settings, "driver-status")
    assert ("bronze.gps", "bronze.batch-gps") in graph.edges and ("bronze.batch-gps", "bronze.delta-gps") in graph.edges
    assert ("bronze.batch-trips", "bronze.dlq-topic") in graph.edges
    assert sum(1 for name in app.agents if "bronze-" in name) == 9


def test_the_agent_commits_each_micro_batch_to_delta_and_counts_it(settings: Settings) -> None:
    app = build_worker_app(settings, topologies=("bronze",), web_port=16068)
    agent = next(agent for name, agent in app.agents.items() if name.endswith("bronze-gps"))
    events = [valid_event("gps_ping", n, NOW_MS) for n in range(7)]  # two full batches of 3, one left for `within`
    context = context_of(app)
    sink = context.registry.node("bronze.delta-gps")

    async def drive() -> None:
        async with agent.test_context() as test_agent:
            for event in events:
                await asyncio.wait_for(test_agent.put(encode("gps_ping", event), key=kafka_key("gps_ping", event)), 30)
            for _ in range(300):  # put() returns once the event is buffered; the commit follows
                if sink.events_out == len(events):
                    break
                await asyncio.sleep(0.05)

    asyncio.run(drive())
    rows = DeltaTable(bronze_table_uri(settings, "gps")).to_pandas()
    assert sorted(rows["event_id"]) == sorted(event["event_id"] for event in events)
    assert sink.events_out == len(events)
    assert context.metrics.events_processed.labels("bronze")._value.get() == len(events)
    assert DeltaTable(bronze_table_uri(settings, "gps")).version() >= 3  # created + at least two batch commits


def test_a_batch_that_cannot_reach_the_lake_is_retried_until_it_lands_and_never_returns_early(tmp_path: Path) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake folder should be")  # every Delta write fails until it is removed
    settings = load_settings(lake_uri=str(blocker / "inner"))
    topology = Topology("bronze", "test")
    nodes = {"batch": topology.operator("batch", ""), "table": topology.sink("table", ""), "dlq": topology.sink("dlq", "")}
    ingest = BronzeIngest(BronzeWriter(settings, "gps"), dlq_topic=None, metrics=StreamMetrics(), nodes=nodes)  # type: ignore[arg-type]  # no dead letters: the DLQ topic is never used
    event = valid_event("gps_ping", 1, NOW_MS)
    records = [KafkaRecord("rideshare.gps", 0, 0, NOW_MS, kafka_key("gps_ping", event), encode("gps_ping", event))]

    async def run() -> int:
        task = asyncio.create_task(ingest.ingest(records))
        for _ in range(200):
            if nodes["batch"].errors >= 2:
                break
            await asyncio.sleep(0.05)
        assert not task.done(), "ingest must not return (and let the batch be acked) before the commit succeeds"
        blocker.unlink()
        result = await asyncio.wait_for(task, 30)
        return result.written

    assert asyncio.run(run()) == 1
    assert nodes["batch"].errors >= 2
    assert list(DeltaTable(bronze_table_uri(settings, "gps")).to_pandas()["event_id"]) == [event["event_id"]]


def test_stopping_the_agent_mid_commit_lets_the_batch_reach_delta_before_its_offsets_are_acked(settings: Settings) -> None:
    app = build_worker_app(settings, topologies=("bronze",), web_port=16069)
    agent = next(agent for name, agent in app.agents.items() if name.endswith("bronze-gps"))
    ingest_writer = next(cell.cell_contents for cell in agent.fun.__closure__ if isinstance(cell.cell_contents, BronzeIngest)).writer
    real_commit = ingest_writer.commit
    commit_started = threading.Event()

    def slow_commit(plan):  # type: ignore[no-untyped-def]
        commit_started.set()
        time.sleep(1.0)  # the worker is told to stop while the Delta commit is in flight
        return real_commit(plan)

    ingest_writer.commit = slow_commit
    events = [valid_event("gps_ping", n, NOW_MS) for n in range(3)]  # exactly one full batch

    async def drive() -> None:
        async with agent.test_context() as test_agent:
            for event in events:
                await asyncio.wait_for(test_agent.put(encode("gps_ping", event), key=kafka_key("gps_ping", event)), 30)
            for _ in range(200):
                if commit_started.is_set():
                    break
                await asyncio.sleep(0.02)
            assert commit_started.is_set()
        # leaving the context cancelled the agent mid-commit

    asyncio.run(drive())
    assert len(DeltaTable(bronze_table_uri(settings, "gps")).to_pandas()) == 3
    assert context_of(app).registry.node("bronze.delta-gps").events_out == 3
