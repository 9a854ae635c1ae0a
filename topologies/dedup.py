"""Dedup: the head of the real-time topologies drops events whose `event_id` was already seen.

State is a RocksDB table `event_id -> [event_time, partition]` per source topic, bounded by event
time: an id is forgotten once the partition's watermark (highest event time seen on it) is more than
`dedup_horizon_ms` past it. The expiry order lives in a small in-memory index per partition
(`SeenIndex`), rebuilt from the table after a restart or a rebalance, so deletes (changelog
tombstones) keep the changelog and the store bounded too.

GPS and surge call `DedupHead.first_seen(...)` on the events of their own agent: one consumer per
topic does dedup + aggregation, with no extra Kafka hop.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import faust

from rideshare.settings import Settings
from schemas.catalog import topic_spec
from schemas.codec import DecodeError
from schemas.codec import registry as schema_registry
from streams.context import context_of
from streams.tables import state_table
from topologies.graph import Node, Topology, TopologyRegistry

__all__ = ["REALTIME_SOURCES", "DedupHead", "SeenIndex", "build", "dedup_heads"]

log = logging.getLogger(__name__)

# The catalog topics read by the real-time topologies (GPS reads gps; surge reads trips and driver-status).
REALTIME_SOURCES: tuple[str, ...] = ("gps", "trips", "driver-status")


@dataclass
class SeenIndex:
    """Pure expiry bookkeeping of one partition: which ids to forget as event time advances."""

    horizon_ms: int
    watermark: int = 0
    _order: deque[tuple[int, str]] = field(default_factory=deque)

    def add(self, event_id: str, event_time: int) -> None:
        self._order.append((event_time, event_id))
        self.watermark = max(self.watermark, event_time)

    def pop_expired(self) -> list[str]:
        """Ids older than watermark - horizon, oldest first. Out-of-order arrivals expire when they reach the front."""
        cutoff = self.watermark - self.horizon_ms
        expired: list[str] = []
        while self._order and self._order[0][0] < cutoff:
            expired.append(self._order.popleft()[1])
        return expired

    def __len__(self) -> int:
        return len(self._order)


class DedupHead:
    """Dedup of one source topic, used inside the agent that consumes that topic."""

    def __init__(self, app: faust.App, settings: Settings, topic_key: str, decode_node: Node, node: Node, metrics: Any) -> None:
        self.topic_key = topic_key
        self.schema_name = topic_spec(topic_key).value_schema
        self.decode_node = decode_node
        self.node = node
        self.horizon_ms = settings.dedup_horizon_ms
        self._drops = metrics.dedup_drops.labels(topic_key)
        self._decode_errors = metrics.decode_errors
        self._codec = schema_registry()
        self.table = state_table(app, f"dedup-{topic_key}-{self.horizon_ms}ms", partitions=topic_spec(topic_key).partitions,
                                 help=f"event_ids of {topic_key} seen within the last {self.horizon_ms} ms of event time")
        self._indexes: dict[int, SeenIndex] | None = None  # None: rebuild from the table on next use
        app.on_partitions_revoked.connect(self._on_revoked)

    async def _on_revoked(self, sender: Any, revoked: Any, **kwargs: Any) -> None:
        # Another worker may add ids to these partitions meanwhile: rebuild from the table when they come back.
        self._indexes = None

    def _index(self, partition: int) -> SeenIndex:
        if self._indexes is None:
            self._indexes = self._rebuild_indexes()
        index = self._indexes.get(partition)
        if index is None:
            index = self._indexes[partition] = SeenIndex(self.horizon_ms)
        return index

    def _rebuild_indexes(self) -> dict[int, SeenIndex]:
        """One pass over the local table (every assigned partition), oldest ids first."""
        recovered = sorted((value[0], value[1], key) for key, value in self.table.items() if value)
        indexes: dict[int, SeenIndex] = {}
        for event_time, partition, event_id in recovered:
            index = indexes.setdefault(partition, SeenIndex(self.horizon_ms))
            index.add(event_id.decode() if isinstance(event_id, bytes) else event_id, event_time)
        log.info("dedup %s: %d ids recovered over %d partitions", self.topic_key, len(recovered), len(indexes))
        return indexes

    def admit(self, value: bytes | None, partition: int) -> dict[str, Any] | None:
        """Decode one raw record and return it the first time its event_id is seen, else None.

        Undecodable records are counted and skipped: the real-time path only needs valid events,
        and the bronze topology sends the same records to the dead-letter topic with the reason.
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
        return record if self.first_seen(record, partition) else None

    def first_seen(self, record: dict[str, Any], partition: int) -> bool:
        """True the first time `record['event_id']` is seen (and remember it); False for a duplicate.

        Must run inside the agent's stream iteration: table writes go to the changelog partition
        of the event being processed, which is `partition`.
        """
        self.node.record(events_in=1)
        event_id: str = record["event_id"]
        if self.table.get(event_id) is not None:
            self._drops.inc()
            return False
        event_time: int = record["event_time"]
        self.table[event_id] = [event_time, partition]
        index = self._index(partition)
        index.add(event_id, event_time)
        for expired in index.pop_expired():
            del self.table[expired]
        self.node.record(events_out=1)
        return True


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
