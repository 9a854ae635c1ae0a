"""Dedup: the head of the real-time topologies drops events whose `event_id` was already seen.

State per source topic and partition: ids grouped in event-time buckets (`SeenBuckets`, pure). The
lookups use an in-memory index; the RocksDB table stores each bucket's new ids of a batch as one
chunk `"<partition>:<bucket start>:<chunk id>" -> [ids]` (one write per touched bucket per batch,
not one per event), and expiry deletes a whole bucket's chunks once the partition's watermark
(highest event time seen on it) is more than `dedup_horizon_ms` past the bucket's end. The index is
rebuilt from the table after a restart or a rebalance.

GPS and surge call `DedupHead.admit(...)` on the events of their own agent (one consumer per topic
does dedup + aggregation, no extra Kafka hop) and `DedupHead.flush(...)` once per partition group.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import faust

from core.settings import Settings
from schemas.catalog import topic_spec
from schemas.codec import DecodeError
from schemas.codec import registry as schema_registry
from streams.context import context_of
from streams.graph import Node, Topology, TopologyRegistry
from streams.tables import state_table

__all__ = ["BUCKETS_PER_HORIZON", "REALTIME_SOURCES", "DedupHead", "SeenBuckets", "build", "dedup_heads"]

log = logging.getLogger(__name__)

# The catalog topics read by the real-time topologies (GPS reads gps; surge reads trips and driver-status).
REALTIME_SOURCES: tuple[str, ...] = ("gps", "trips", "driver-status")
# Expiry granularity: an id is kept for at least the horizon and at most 1/BUCKETS_PER_HORIZON longer.
BUCKETS_PER_HORIZON = 120


@dataclass
class SeenBuckets:
    """Pure dedup state of one partition: seen ids by event-time bucket, new ids pending storage,
    and the stored chunks of each bucket (what expiry deletes)."""

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
        self.watermark = max(self.watermark, event_time)
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
        partition (the offset of the batch's last event is)."""
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

    def __len__(self) -> int:
        return len(self._bucket_of)


class DedupHead:
    """Dedup of one source topic, used inside the agent that consumes that topic."""

    def __init__(self, app: faust.App, settings: Settings, topic_key: str, decode_node: Node, node: Node, metrics: Any) -> None:
        self.topic_key = topic_key
        self.schema_name = topic_spec(topic_key).value_schema
        self.decode_node = decode_node
        self.node = node
        self.horizon_ms = settings.dedup_horizon_ms
        self.bucket_ms = max(1, self.horizon_ms // BUCKETS_PER_HORIZON)
        self._drops = metrics.dedup_drops.labels(topic_key)
        self._decode_errors = metrics.decode_errors
        self._codec = schema_registry()
        self.table = state_table(app, f"dedup-{topic_key}-{self.horizon_ms}ms", partitions=topic_spec(topic_key).partitions,
                                 help=f"event_id chunks of {topic_key} per event-time bucket, kept {self.horizon_ms} ms of event time")
        self._partitions: dict[int, SeenBuckets] | None = None  # None: rebuild from the table on next use
        app.on_partitions_revoked.connect(self._on_revoked)

    async def _on_revoked(self, sender: Any, revoked: Any, **kwargs: Any) -> None:
        # Another worker may add ids to these partitions meanwhile: rebuild from the table when they come back.
        self._partitions = None

    def _seen(self, partition: int) -> SeenBuckets:
        if self._partitions is None:
            self._partitions = self._rebuild()
        seen = self._partitions.get(partition)
        if seen is None:
            seen = self._partitions[partition] = SeenBuckets(self.horizon_ms, self.bucket_ms)
        return seen

    def _rebuild(self) -> dict[int, SeenBuckets]:
        """One pass over the local table (every assigned partition)."""
        partitions: dict[int, SeenBuckets] = {}
        chunks = 0
        for key, ids in self.table.items():
            if not ids:
                continue
            partition, bucket, chunk_id = (key.decode() if isinstance(key, bytes) else key).split(":", 2)
            seen = partitions.setdefault(int(partition), SeenBuckets(self.horizon_ms, self.bucket_ms))
            seen.restore(int(bucket), f"{bucket}:{chunk_id}", ids)
            chunks += 1
        log.info("dedup %s: %d chunks recovered over %d partitions", self.topic_key, chunks, len(partitions))
        return partitions

    def admit(self, value: bytes | None, partition: int) -> dict[str, Any] | None:
        """Decode one raw record and return it the first time its event_id is seen, else None.

        Undecodable records are counted and skipped: the real-time path only needs valid events,
        and the bronze topology sends the same records to the dead-letter topic with the reason.
        Seen ids reach the table on `flush`.
        """
        try:
            name, record = self._codec.decode(value)
            if name != self.schema_name:
                raise DecodeError("wrong_schema", f"a {name} record on the {self.topic_key} topic")
        except DecodeError as exc:
            self.decode_node.record(events_in=1, errors=1)
            self._decode_errors.labels(self.topic_key, exc.reason).inc()
            return None
        self.decode_node.record(events_in=1, events_out=1)
        self.node.record(events_in=1)
        if not self._seen(partition).add(record["event_id"], record["event_time"]):
            self._drops.inc()
            return None
        self.node.record(events_out=1)
        return record

    def flush(self, partition: int, chunk_id: str) -> None:
        """Store the partition's new ids and delete its expired buckets.

        Must run where table writes go to `partition` (inside its stream iteration, or
        `streams.batching.on_partition_of` an event of it)."""
        writes, deletes = self._seen(partition).flush(chunk_id)
        for key in deletes:
            self.table.pop(f"{partition}:{key}", None)
        for key, ids in writes.items():
            self.table[f"{partition}:{key}"] = ids


def dedup_heads(registry: TopologyRegistry) -> dict[str, DedupHead]:
    """The dedup heads built by this module; GPS and surge require the dedup topology."""
    heads = registry.shared.get("dedup")
    if heads is None:
        raise LookupError("the dedup topology must be built before gps and surge (list it first in --topologies)")
    return heads  # type: ignore[no-any-return]


def build(app: faust.App, settings: Settings, registry: TopologyRegistry) -> Topology:

    topology = Topology("dedup", f"drop events whose event_id was seen within {settings.dedup_horizon_ms} ms of event time")
    metrics = context_of(app).metrics
    heads: dict[str, DedupHead] = {}
    for key in REALTIME_SOURCES:
        spec = topic_spec(key)
        source = topology.source(key, f"{spec.value_schema} events", target=spec.qualified(settings.topic_namespace))
        decode_node = topology.operator(f"decode-{key}", f"Avro single-object -> {spec.value_schema} (undecodable: skipped)")
        node = topology.operator(f"seen-{key}", "keep the first event per event_id",
                                 target=f"table dedup-{key}-{settings.dedup_horizon_ms}ms")
        topology.connect(source, decode_node, node)
        heads[key] = DedupHead(app, settings, key, decode_node, node, metrics)
    registry.shared["dedup"] = heads
    return topology
