"""Reading a run's events back from Kafka: every catalog topic of a namespace, from the beginning to the
end offsets seen when reading starts (a snapshot: records produced meanwhile are left for the next report).
The step markers of a lockstep run (schemas/markers.py) are control records, not events: counted, skipped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from agents_sim.report.exceptions import ReportError
from core.settings import Settings
from schemas.catalog import CATALOG
from schemas.codec import DecodeError, decode
from schemas.markers import parse_marker

__all__ = ["KafkaEvents"]

BATCH = 5_000
STALL_TIMEOUT_S = 30.0


class KafkaEvents:
    """Iterable of (schema_name, record) pairs of all catalog topics of `namespace` (default: the settings').

    Within a partition records come in offset order, which keeps each trip, driver and GPS entity in
    order — all the KPI fold needs. Undecodable records are skipped and counted in `undecodable`, step
    markers in `markers`.
    """

    def __init__(self, settings: Settings, *, namespace: str | None = None) -> None:
        self.settings = settings
        self.namespace = settings.topic_namespace if namespace is None else namespace
        self.read = 0
        self.undecodable = 0
        self.markers = 0
        self.total: int | None = None  # records in the snapshot, known once reading started

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        consumer = Consumer({
            "bootstrap.servers": self.settings.bootstrap_servers,
            "group.id": f"rideshare-report-{time.time_ns()}",
            "enable.auto.commit": False,
            "socket.timeout.ms": 10_000,
        })
        try:
            ends = self._assign_snapshot(consumer)
            yield from self._consume(consumer, ends)
        except KafkaException as exc:
            raise ReportError(f"reading Kafka at {self.settings.bootstrap_servers} failed: {exc.args[0]}; "
                              "is the broker up (`rideshare infra up`)?") from exc
        finally:
            consumer.close()

    def _assign_snapshot(self, consumer: Consumer) -> dict[tuple[str, int], int]:
        metadata = consumer.list_topics(timeout=10)
        names = [spec.qualified(self.namespace) for spec in CATALOG if spec.value_schema]
        present = [name for name in names if name in metadata.topics]
        if not present:
            raise ReportError(f"no catalog topic with namespace {self.namespace!r} on {self.settings.bootstrap_servers}; "
                              "check the namespace (`rideshare topics list`)")
        assignment, ends = [], {}
        for name in present:
            for partition in metadata.topics[name].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=10)
                if high > low:
                    assignment.append(TopicPartition(name, partition, low))
                    ends[(name, partition)] = high
        self.total = sum(ends.values()) - sum(tp.offset for tp in assignment)
        if assignment:
            consumer.assign(assignment)
        return ends

    def _consume(self, consumer: Consumer, ends: dict[tuple[str, int], int]) -> Iterator[tuple[str, dict[str, Any]]]:
        remaining = set(ends)
        last_progress = time.monotonic()
        while remaining:
            messages = consumer.consume(num_messages=BATCH, timeout=1.0)
            if not messages:
                # offsets can end in transaction markers that are never delivered: ask where we really are
                for tp in consumer.position([TopicPartition(t, p) for t, p in remaining]):
                    if tp.offset >= ends[(tp.topic, tp.partition)]:
                        self._finish(consumer, remaining, (tp.topic, tp.partition))
                if remaining and time.monotonic() - last_progress > STALL_TIMEOUT_S:
                    raise ReportError(f"Kafka stopped delivering records with {len(remaining)} partitions unread "
                                      f"after {STALL_TIMEOUT_S:.0f} s; is the broker healthy?")
                continue
            last_progress = time.monotonic()
            for message in messages:
                if message.error():
                    raise ReportError(f"error reading {message.topic()}: {message.error().str()}")
                key = (message.topic(), message.partition())
                if key not in remaining or message.offset() >= ends[key]:
                    self._finish(consumer, remaining, key)
                    continue
                if message.offset() >= ends[key] - 1:
                    self._finish(consumer, remaining, key)
                if message.value() is None and parse_marker(message.headers()) is not None:
                    self.markers += 1
                    continue
                try:
                    schema, record = decode(message.value())
                except DecodeError:
                    self.undecodable += 1
                    continue
                self.read += 1
                yield schema, record

    @staticmethod
    def _finish(consumer: Consumer, remaining: set[tuple[str, int]], key: tuple[str, int]) -> None:
        """The partition reached its snapshot end: stop fetching what was produced since."""
        if key in remaining:
            remaining.discard(key)
            consumer.pause([TopicPartition(*key)])
