"""The dedup head driven through its batch processor: real Faust tables (RocksDB), no broker, no Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, load_settings
from rideshare.workers import build_worker_app
from schemas.codec import encode
from schemas.markers import RUN_HEADER, StepMarker
from streams.app import context_of
from tests.unit.topologies.batches import Message
from topologies.dedup import SourceStage

T0 = 1_767_607_200_000  # the broker timestamp of the test messages: event times near it are plausible


def gps_ping(event_id: str, t: int, entity: str = "D1") -> dict[str, Any]:
    """A ping `t` ms after T0 (bucket arithmetic stays readable: T0 is a multiple of every bucket size here)."""
    return {"event_id": event_id, "event_time": T0 + t, "session_id": "s", "correlation_id": entity, "causation_id": None,
            "entity_type": "driver", "entity_id": entity, "lat": -23.55, "lon": -46.63, "heading_deg": 10.0,
            "speed_kmh": 20.0, "accuracy_m": 5.0, "trip_id": None, "driver_status": "on_trip"}


class Feed:
    """Messages of partition 0 of the GPS topic, offsets counted up, optionally with a run header."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self, value: bytes | None, *, run: str = "r1", key: bytes = b"D1", headers: list[Any] | None = None) -> Message:
        self.offset += 1
        return Message("unit.rideshare.gps", 0, self.offset, key, value, headers=[(RUN_HEADER, run.encode()), *(headers or [])])


def run(stage: SourceStage, batch: list[Message], *, checkpoint: bool = True) -> None:
    """Process a batch, then checkpoint, inside an event loop (table writes queue changelog records)."""
    async def go() -> None:
        await stage.process(batch)
        if checkpoint:
            stage.checkpoint()
    asyncio.run(go())


def stage_of(settings: Settings, topic: str = "unit.rideshare.gps") -> tuple[Any, SourceStage]:
    app = build_worker_app(settings, topologies=("dedup", "gps"), web_port=16066)
    agent = next(agent for agent in app.topics.batch_agents if agent.buffer is app.topics.batch_buffers[topic])
    return app, agent.processor


class Recorder:
    """A subscriber of the admitted stream that keeps every batch it is handed."""

    def __init__(self) -> None:
        self.batches: list[Any] = []

    async def on_batches(self, batches: Any) -> None:
        self.batches.extend(batches)

    def checkpoint(self) -> None: ...

    def on_revoked(self) -> None: ...


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(topic_namespace="unit.", local_dir=tmp_path, dedup_horizon_ms=1_000)


def test_a_duplicated_ping_is_counted_once_and_poison_is_skipped_with_its_reason(settings: Settings) -> None:
    app, stage = stage_of(settings)
    feed = Feed()
    batch = [feed(encode("gps_ping", gps_ping("e1", 100))), feed(encode("gps_ping", gps_ping("e1", 100))),
             feed(b"\x00not avro"), feed(encode("gps_ping", gps_ping("e2", 400)))]
    run(stage, batch)
    windows = next(table for name, table in app.tables.items() if name.startswith("gps-window"))
    assert windows.get("D1")["ping_count"] == 2
    registry, metrics = context_of(app).registry, context_of(app).metrics
    assert registry.node("dedup.seen-gps").events_in == 3 and registry.node("dedup.seen-gps").events_out == 2
    assert registry.node("dedup.decode-gps").errors == 1
    assert metrics.dedup_drops.labels("gps")._value.get() == 1
    assert metrics.decode_errors.labels("gps", "not_single_object")._value.get() == 1


def test_dedup_memory_is_stored_per_bucket_and_forgotten_once_event_time_passes_the_horizon(settings: Settings) -> None:
    app, stage = stage_of(settings)
    feed = Feed()
    run(stage, [feed(encode("gps_ping", gps_ping(f"old-{i}", 100 + i))) for i in range(5)])
    seen = next(table for name, table in app.tables.items() if name.startswith("dedup-gps"))
    # one chunk per event-time bucket (8 ms here), keyed partition:run:bucket:offset of the checkpoint's last message
    first, second = f"0:s/r1:{T0 + 96}:5", f"0:s/r1:{T0 + 104}:5"
    assert (seen.get(first), seen.get(second)) == (["old-0", "old-1", "old-2", "old-3"], ["old-4"])
    run(stage, [feed(encode("gps_ping", gps_ping("new", 1_500)))])
    # the old buckets expired with event time: the table stays bounded
    assert seen.get(first) is None and seen.get(second) is None and seen.get(f"0:s/r1:{T0 + 1496}:6") == ["new"]


def test_a_far_future_event_is_an_outlier_and_does_not_move_the_clock(settings: Settings) -> None:
    app, stage = stage_of(settings)
    feed = Feed()
    day = 86_400_000
    batch = [feed(encode("gps_ping", gps_ping(f"e{i}", 1_000 + i))) for i in range(5)]
    batch.insert(2, feed(encode("gps_ping", gps_ping("future", 1_000 + 20 * day))))
    asyncio.run(stage.process(batch))
    assert context_of(app).metrics.event_time_outliers.labels("gps")._value.get() == 1
    assert stage.clocks.clock(0, "s/r1").watermark == T0 + 1_004
    asyncio.run(stage.process([feed(encode("gps_ping", gps_ping("next", 1_010)))]))
    assert context_of(app).registry.node("dedup.seen-gps").events_out == 6  # later events still flow


def test_a_second_run_of_the_same_session_is_not_deduplicated_against_the_first(settings: Settings) -> None:
    app, stage = stage_of(settings)
    feed = Feed()
    asyncio.run(stage.process([feed(encode("gps_ping", gps_ping("e1", 100)), run="first")]))
    asyncio.run(stage.process([feed(encode("gps_ping", gps_ping("e1", 100)), run="second")]))
    assert context_of(app).registry.node("dedup.seen-gps").events_out == 2


def test_step_markers_pass_through_in_order_without_being_classified(settings: Settings) -> None:
    app, stage = stage_of(settings)
    feed = Feed()
    recorder = Recorder()
    stage.stream.subscribe(recorder)
    seen = recorder.batches
    batch = [feed(encode("gps_ping", gps_ping("e1", 100))), feed(None, headers=StepMarker("s", T0 + 60_000).headers()),
             feed(encode("gps_ping", gps_ping("e2", 60_100)))]
    asyncio.run(stage.process(batch))
    (admitted,) = seen
    assert len(admitted) == 2 and [(before, marker.step_end_ms) for before, marker, _ in admitted.markers] == [(1, T0 + 60_000)]
    assert context_of(app).registry.node("dedup.decode-gps").errors == 0


def test_a_batch_over_several_partitions_is_classified_once_and_split_back_into_each_partitions_events(
        settings: Settings) -> None:
    app, stage = stage_of(settings)
    recorder = Recorder()
    stage.stream.subscribe(recorder)
    seen = recorder.batches
    offsets = {0: 0, 1: 0, 2: 0}

    def message(partition: int, value: bytes | None, *, headers: list[Any] | None = None) -> Message:
        offsets[partition] += 1
        return Message("unit.rideshare.gps", partition, offsets[partition], b"D1", value,
                       headers=[(RUN_HEADER, b"r1"), *(headers or [])])

    def ping(event_id: str, t: int) -> bytes:
        return encode("gps_ping", gps_ping(event_id, t))  # entity D1, the messages' key

    # partitions interleaved, poison in the middle of partition 1, a marker on partition 2, partition 0 with nothing valid
    batch = [message(1, ping("a1", 100)), message(2, ping("b1", 100)), message(1, b"\x00poison"), message(0, b"\x00poison"),
             message(2, None, headers=StepMarker("s", T0 + 60_000).headers()), message(1, ping("a2", 200)),
             message(2, ping("b2", 60_100)), message(1, ping("a1", 100))]
    asyncio.run(stage.process(batch))

    by_partition = {admitted.partition: admitted for admitted in seen}
    assert set(by_partition) == {1, 2}  # partition 0 had no valid event and no marker: nothing to hand on
    assert by_partition[1].column("event_id") == ["a1", "a2"]  # poison skipped, the duplicate of a1 dropped
    assert by_partition[2].column("event_id") == ["b1", "b2"]
    assert [(before, marker.step_end_ms) for before, marker, _ in by_partition[2].markers] == [(1, T0 + 60_000)]
    assert by_partition[2].message.offset == 3 and by_partition[1].message.offset == 4  # each partition's last message
    registry = context_of(app).registry
    assert registry.node("dedup.decode-gps").errors == 2 and registry.node("dedup.decode-gps").events_in == 7


def test_one_batch_holding_two_runs_deduplicates_each_run_against_itself_only(settings: Settings) -> None:
    app, stage = stage_of(settings)
    recorder = Recorder()
    stage.stream.subscribe(recorder)
    feed = Feed()
    ping = encode("gps_ping", gps_ping("e1", 100))
    other = encode("gps_ping", gps_ping("e2", 200))
    batch = [feed(ping, run="first"), feed(ping, run="second"), feed(other, run="first"), feed(ping, run="first"),
             feed(other, run="second"), feed(other, run="second")]
    asyncio.run(stage.process(batch))
    (admitted,) = recorder.batches
    assert list(zip(admitted.runs, admitted.column("event_id"), strict=True)) == [
        ("s/first", "e1"), ("s/second", "e1"), ("s/first", "e2"), ("s/second", "e2")]  # in order, each run's repeats dropped
    assert context_of(app).metrics.dedup_drops.labels("gps")._value.get() == 2
