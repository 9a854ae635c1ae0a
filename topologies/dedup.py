"""Dedup: the head of the real-time topologies. One batch agent per source topic classifies its records
(the shared classification of `schemas.classify`), keeps the partition's event-time clock, drops
events whose `event_id` was already seen and hands the admitted events, as columns, to the
topologies that subscribe to the topic's `AdmittedStream` (GPS windows, surge).

State per source topic, partition and run (`schemas.markers.run_key`): ids grouped in event-time
buckets (`SeenBuckets`, pure). Lookups use the in-memory index; at each checkpoint the RocksDB table
stores each bucket's new ids as one chunk `"<partition>:<run>:<bucket start>:<chunk id>" -> [ids]`
(one write per touched bucket, not one per event), and expiry deletes a whole bucket's chunks once
the run's watermark is more than `dedup_horizon_ms` past the bucket's end. The index is rebuilt from
the table after a restart or a rebalance.

Invalid records and event-time outliers are counted by reason and skipped (bronze dead-letters the
same records, for the same reasons); no record can crash the agent.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import faust
import polars as pl

from core.settings import Settings
from schemas.catalog import topic_spec
from schemas.classify import ClassifiedBatch, classify_batch
from schemas.event_clock import EventClocks
from schemas.markers import StepMarker, parse_marker, run_id_of, run_key, run_keys
from streams.batches import batch_agent, on_partition_of
from streams.context import context_of
from streams.graph import Node, Topology
from streams.tables import state_table
from streams.topics import catalog_topic

__all__ = ["BUCKETS_PER_HORIZON", "AdmittedBatch", "AdmittedStream", "AdmittedStreams", "SeenBuckets", "StreamSubscriber",
           "build"]

log = logging.getLogger(__name__)

# Expiry granularity: an id is kept for at least the horizon and at most 1/BUCKETS_PER_HORIZON longer.
BUCKETS_PER_HORIZON = 120
# Runs remembered per partition (older runs' dedup memory and clocks are dropped).
MAX_RUNS_PER_PARTITION = 4


@dataclass
class SeenBuckets:
    """Pure dedup state of one partition and run: seen ids by event-time bucket, new ids pending
    storage, and the stored chunks of each bucket (what expiry deletes)."""

    horizon_ms: int
    bucket_ms: int
    watermark: int = 0
    _bucket_of: dict[str, int] = field(default_factory=dict)
    _ids: dict[int, list[str]] = field(default_factory=dict)
    _chunks: dict[int, list[str]] = field(default_factory=dict)
    _pending: dict[int, list[str]] = field(default_factory=dict)

    def add(self, event_id: str, event_time: int) -> bool:
        """True (and remembered) the first time `event_id` is seen, False for a duplicate."""
        if event_id in self._bucket_of:
            return False
        bucket = event_time - event_time % self.bucket_ms
        self._bucket_of[event_id] = bucket
        self._ids.setdefault(bucket, []).append(event_id)
        self._pending.setdefault(bucket, []).append(event_id)
        if event_time > self.watermark:
            self.watermark = event_time
        return True

    def restore(self, bucket: int, chunk: str, ids: list[str]) -> None:
        """Reload one stored chunk (after a restart or a rebalance)."""
        for event_id in ids:
            self._bucket_of[event_id] = bucket
        self._ids.setdefault(bucket, []).extend(ids)
        self._chunks.setdefault(bucket, []).append(chunk)
        # The true watermark is unknown: a bucket's start is a lower bound, so nothing expires early.
        self.watermark = max(self.watermark, bucket)

    def flush(self, chunk_id: str) -> tuple[dict[str, list[str]], list[str]]:
        """(chunks to write: key -> new ids, chunk keys to delete) since the last flush.

        Chunk keys are "<bucket start>:<chunk_id>"; `chunk_id` must be unique per flush of the
        partition (the offset of the last event checkpointed is)."""
        cutoff = self.watermark - self.horizon_ms
        deletes: list[str] = []
        for bucket in sorted(b for b in self._ids if b + self.bucket_ms <= cutoff):
            for event_id in self._ids.pop(bucket):
                del self._bucket_of[event_id]
            deletes.extend(self._chunks.pop(bucket, ()))
            self._pending.pop(bucket, None)  # expired before it was stored: nothing to write
        writes: dict[str, list[str]] = {}
        for bucket, ids in self._pending.items():
            key = f"{bucket}:{chunk_id}"
            writes[key] = ids
            self._chunks.setdefault(bucket, []).append(key)
        self._pending = {}
        return writes, deletes

    def all_chunks(self) -> list[str]:
        return [chunk for chunks in self._chunks.values() for chunk in chunks]

    def __len__(self) -> int:
        return len(self._bucket_of)


@dataclass
class AdmittedBatch:
    """The admitted events of one partition in one batch, as columns, in partition order.

    `runs[i]` is the run key of row `i`; `markers` are the step markers of the partition with the
    number of admitted rows that precede each; `message` is the partition's last message in the batch
    (table writes of the partition go through it, see `streams.batches.on_partition_of`)."""

    topic_key: str
    partition: int
    frame: pl.DataFrame
    runs: list[str]
    markers: list[tuple[int, StepMarker, str]]
    message: Any
    _columns: dict[str, list[Any]] = field(default_factory=dict)

    def column(self, name: str) -> list[Any]:
        """One column as a Python list (converted once per batch)."""
        values = self._columns.get(name)
        if values is None:
            values = self._columns[name] = self.frame.get_column(name).to_list()
        return values

    def __len__(self) -> int:
        return self.frame.height


class StreamSubscriber(Protocol):
    """A topology fed by an `AdmittedStream`: called with each batch's admitted events, then at the
    source's checkpoints (before its offsets are acked)."""

    async def on_batches(self, batches: Sequence[AdmittedBatch]) -> None: ...

    def checkpoint(self) -> None: ...

    def on_revoked(self) -> None: ...


@dataclass
class AdmittedStream:
    """The deduplicated events of one catalog topic: what GPS and surge are wired to."""

    topic_key: str
    node: Node
    subscribers: list[StreamSubscriber] = field(default_factory=list)

    def subscribe(self, subscriber: StreamSubscriber) -> None:
        self.subscribers.append(subscriber)


@dataclass(frozen=True)
class AdmittedStreams:
    """The dedup topology's outputs, passed to the topologies that consume them."""

    gps: AdmittedStream
    trips: AdmittedStream
    driver_status: AdmittedStream


class SourceStage:
    """The batch processor of one source topic: classify, clock, dedup, fan out (`streams.batches`)."""

    def __init__(self, app: faust.App, settings: Settings, topic_key: str, nodes: dict[str, Node], stream: AdmittedStream) -> None:
        self.spec = topic_spec(topic_key)
        self.topic_key = topic_key
        self.nodes = nodes
        self.stream = stream
        self.horizon_ms = settings.dedup_horizon_ms
        self.bucket_ms = max(1, self.horizon_ms // BUCKETS_PER_HORIZON)
        metrics = context_of(app).metrics
        self._drops = metrics.dedup_drops.labels(topic_key)
        self._invalid = metrics.decode_errors
        self._outliers = metrics.event_time_outliers.labels(topic_key)
        self.clocks = EventClocks(settings.stream_event_time_skew_ms, MAX_RUNS_PER_PARTITION)
        self.table = state_table(app, f"dedup-{topic_key}-{self.horizon_ms}ms", partitions=self.spec.partitions,
                                 help=f"event_id chunks of {topic_key} per run and event-time bucket, "
                                      f"kept {self.horizon_ms} ms of event time")
        self._seen: dict[int, dict[str, SeenBuckets]] | None = None  # None: rebuild from the table on next use
        self._expired_runs: dict[int, list[tuple[str, SeenBuckets]]] = {}
        self._last_message: dict[int, Any] = {}

    # ---- state

    def _partition_seen(self, partition: int) -> dict[str, SeenBuckets]:
        if self._seen is None:
            self._seen = self._rebuild()
        return self._seen.setdefault(partition, {})

    def _rebuild(self) -> dict[int, dict[str, SeenBuckets]]:
        """One pass over the local table (every assigned partition)."""
        seen: dict[int, dict[str, SeenBuckets]] = {}
        chunks = 0
        for key, ids in self.table.items():
            if not ids:
                continue
            partition, run, bucket, chunk_id = (key.decode() if isinstance(key, bytes) else key).split(":", 3)
            buckets = seen.setdefault(int(partition), {}).setdefault(run, SeenBuckets(self.horizon_ms, self.bucket_ms))
            buckets.restore(int(bucket), f"{bucket}:{chunk_id}", ids)
            chunks += 1
        log.info("dedup %s: %d chunks recovered over %d partitions", self.topic_key, chunks, len(seen))
        return seen

    def _run_seen(self, partition: int, run: str) -> SeenBuckets:
        runs = self._partition_seen(partition)
        buckets = runs.get(run)
        if buckets is None:
            buckets = runs[run] = SeenBuckets(self.horizon_ms, self.bucket_ms)
            if len(runs) > MAX_RUNS_PER_PARTITION:  # the oldest run's memory goes (its chunks at the next checkpoint)
                oldest = next(iter(runs))
                self._expired_runs.setdefault(partition, []).append((oldest, runs.pop(oldest)))
        return buckets

    def on_revoked(self) -> None:
        # Another worker may add ids to these partitions meanwhile: rebuild from the table when they come back.
        self._seen = None
        self._last_message.clear()
        self.clocks.forget()
        for subscriber in self.stream.subscribers:
            subscriber.on_revoked()

    # ---- processing

    async def process(self, messages: Sequence[Any]) -> None:
        by_partition: dict[int, list[Any]] = {}
        for message in messages:
            by_partition.setdefault(message.partition, []).append(message)
        parts: list[tuple[int, list[Any], list[Any], list[tuple[int, StepMarker, str]]]] = []
        records: list[Any] = []  # every partition's records, partition after partition
        for partition, group in by_partition.items():
            self._last_message[partition] = group[-1]
            partition_records: list[Any] = []
            marks: list[tuple[int, StepMarker, str]] = []  # (records before the marker, marker, run)
            for message in group:
                if message.value is None and (marker := parse_marker(message.headers)) is not None:
                    marks.append((len(partition_records), marker, run_key(marker.session_id, run_id_of(message.headers))))
                else:
                    partition_records.append(message)
            parts.append((partition, group, partition_records, marks))
            records.extend(partition_records)
        source, decoded = self.nodes["source"], self.nodes["decode"]
        source.record(events_in=len(messages), events_out=len(records))
        with decoded.timed():  # one classification of the whole batch: its fixed cost is paid once, not per partition
            classified = classify_batch(self.spec, [m.key for m in records], [m.value for m in records],
                                        [round(m.timestamp * 1000) for m in records])
        for rejection in classified.rejections:
            self._invalid.labels(self.topic_key, rejection.error_type).inc()
        decoded.record(events_in=len(records), events_out=len(classified), errors=len(classified.rejections))
        batches: list[AdmittedBatch] = []
        start = row = 0
        with self.nodes["seen"].timed():
            for partition, group, partition_records, marks in parts:
                end = start + len(partition_records)
                # classified rows keep input order, so a partition's rows are one contiguous slice
                last = bisect_left(classified.positions, end, lo=row)
                part = ClassifiedBatch(classified.frame.slice(row, last - row),
                                       [position - start for position in classified.positions[row:last]], [], [])
                batch = self._deduplicated(partition, group, partition_records, marks, part)
                if len(batch) or batch.markers:
                    batches.append(batch)
                start, row = end, last
        if batches:
            for subscriber in self.stream.subscribers:
                await subscriber.on_batches(batches)

    def _deduplicated(self, partition: int, group: list[Any], records: list[Any], marks: list[tuple[int, StepMarker, str]],
                      classified: ClassifiedBatch) -> AdmittedBatch:
        frame = classified.frame
        sessions = frame.get_column("session_id").to_list()
        runs = run_keys(sessions, [records[position].headers for position in classified.positions])
        keep = self._dedup(partition, runs, frame.get_column("event_id").to_list(), frame.get_column("event_time").to_list())
        kept_rows = [i for i, kept in enumerate(keep) if kept]
        if len(kept_rows) < len(keep):
            frame = frame[kept_rows]
            runs = [runs[i] for i in kept_rows]
        # markers: re-count the admitted rows before each one
        admitted_before = [0] * (len(records) + 1)
        kept_positions = {classified.positions[i] for i in kept_rows}
        for position in range(len(records)):
            admitted_before[position + 1] = admitted_before[position] + (position in kept_positions)
        markers = [(admitted_before[before], marker, run) for before, marker, run in marks]
        for _, marker, run in markers:
            self.clocks.clock(partition, run).advance_to(marker.step_end_ms)
        self.nodes["seen"].record(events_in=len(classified), events_out=len(kept_rows))
        return AdmittedBatch(self.topic_key, partition, frame, runs, markers, group[-1])

    def _dedup(self, partition: int, runs: list[str], event_ids: list[str], event_times: list[int]) -> list[bool]:
        """Admitted rows: not an event-time outlier of its run, and an event id not seen before."""
        keep = [False] * len(runs)
        distinct = dict.fromkeys(runs)
        groups: list[tuple[str, Sequence[int], list[str], list[int]]]  # (run, its rows, their event ids and times)
        if len(distinct) == 1:  # nearly every batch: one run, nothing to group
            groups = [(runs[0], range(len(runs)), event_ids, event_times)]
        else:
            rows_of: dict[str, list[int]] = {run: [] for run in distinct}
            for index, run in enumerate(runs):
                rows_of[run].append(index)
            groups = [(run, rows, [event_ids[i] for i in rows], [event_times[i] for i in rows]) for run, rows in rows_of.items()]
        outliers = duplicates = 0
        for run, indices, ids, times in groups:
            in_time = self.clocks.clock(partition, run).admit(times)
            add = self._run_seen(partition, run).add
            for index, event_id, event_time, on_time in zip(indices, ids, times, in_time, strict=True):
                if not on_time:
                    outliers += 1
                elif add(event_id, event_time):
                    keep[index] = True
                else:
                    duplicates += 1
        if outliers:
            self._outliers.inc(outliers)
        if duplicates:
            self._drops.inc(duplicates)
        return keep

    def checkpoint(self) -> None:
        """Store each partition's new ids, delete expired buckets and forgotten runs; then the subscribers'."""
        with self.nodes["seen"].timed():
            self._store_seen()
        for subscriber in self.stream.subscribers:
            subscriber.checkpoint()

    def _store_seen(self) -> None:
        if self._seen is not None:
            for partition, runs in self._seen.items():
                message = self._last_message.get(partition)
                if message is None:
                    continue
                chunk_id = str(message.offset)
                with on_partition_of(message):
                    for run, buckets in runs.items():
                        writes, deletes = buckets.flush(chunk_id)
                        for key in deletes:
                            self.table.pop(f"{partition}:{run}:{key}", None)
                        for key, ids in writes.items():
                            self.table[f"{partition}:{run}:{key}"] = ids
                    for run, buckets in self._expired_runs.pop(partition, ()):
                        for key in buckets.all_chunks():
                            self.table.pop(f"{partition}:{run}:{key}", None)


def build(app: faust.App, settings: Settings) -> tuple[Topology, AdmittedStreams]:
    """The dedup heads of the gps, trips and driver-status topics, each on a batch agent."""
    topology = Topology("dedup", f"classify, keep the event-time clock, drop event ids seen within {settings.dedup_horizon_ms} ms "
                                 "of event time")
    streams: dict[str, AdmittedStream] = {}
    for key in ("gps", "trips", "driver-status"):
        spec = topic_spec(key)
        nodes = {
            "source": topology.source(key, f"{spec.value_schema} records and step markers",
                                      target=spec.qualified(settings.topic_namespace)),
            "decode": topology.operator(f"decode-{key}", f"batch Avro decode + shared classification -> {spec.value_schema} "
                                                         "(invalid: counted and skipped)"),
            "seen": topology.operator(f"seen-{key}", "outliers of the run's clock and ids already seen are dropped",
                                      target=f"table dedup-{key}-{settings.dedup_horizon_ms}ms"),
        }
        topology.connect(nodes["source"], nodes["decode"], nodes["seen"])
        stream = streams[key] = AdmittedStream(key, nodes["seen"])
        stage = SourceStage(app, settings, key, nodes, stream)
        batch_agent(app, catalog_topic(app, settings, key), stage, name=f"{settings.topic_namespace}realtime-{key}",
                    max_events=settings.stream_batch_max_events, within_s=settings.stream_batch_within_s,
                    checkpoint_s=settings.stream_checkpoint_s)
        app.on_partitions_revoked.connect(_forget(stage))
    return topology, AdmittedStreams(streams["gps"], streams["trips"], streams["driver-status"])


def _forget(stage: SourceStage) -> Any:
    async def forget(sender: Any, revoked: Any, **kwargs: Any) -> None:
        stage.on_revoked()
    return forget
