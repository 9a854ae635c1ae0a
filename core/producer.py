"""The one Kafka event producer: catalog topic and key, Avro single-object value, event-type header.

Idempotent, lz4-compressed and batched (linger), never flushed per message. The simulation's Kafka
sink, the benchmarks and the tests all produce through it. `send_markers` sends the step markers of
the lockstep surge loop (schemas/markers.py) to every partition of the marked topics. Every record carries the header
`schemas.markers.RUN_HEADER`: a fresh id per producer, so stream state can tell two runs of one
deterministic session apart (see schemas/markers.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaException, Producer

from core.exceptions import RideshareError
from core.settings import Settings
from schemas.catalog import topic_for_schema, topic_spec
from schemas.codec import encode, event_type_of
from schemas.markers import MARKED_TOPICS, MARKER_KEY, RUN_HEADER, StepMarker

__all__ = ["EventProducer"]


class EventProducer:
    def __init__(self, settings: Settings, **overrides: Any) -> None:
        config = {
            "bootstrap.servers": settings.bootstrap_servers,
            "enable.idempotence": True,
            "compression.type": "lz4",
            # The Java client's (and aiokafka's) partitioner: Faust routes key lookups (table_route
            # views) by murmur2, so keys must land where Faust expects them. librdkafka defaults to CRC32.
            "partitioner": "murmur2_random",
            "linger.ms": 20,
            "batch.size": 512 * 1024,
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 512 * 1024,
        }
        config.update(overrides)
        self._producer = Producer(config)
        self._namespace = settings.topic_namespace
        self._topics: dict[str, tuple[str, str | None]] = {}
        self._partitions: dict[str, int] = {}
        self.sent = 0
        self.failed: list[str] = []
        self.run_id = uuid.uuid4().hex[:12]
        self._run_header = (RUN_HEADER, self.run_id.encode())

    def _route(self, schema_name: str) -> tuple[str, str | None]:
        route = self._topics.get(schema_name)
        if route is None:
            spec = topic_for_schema(schema_name)
            route = self._topics[schema_name] = (spec.qualified(self._namespace), spec.key_field)
        return route

    def send(self, schema_name: str, record: dict[str, Any]) -> None:
        """Queue one event; raises EncodeError if it does not match its schema."""
        topic, key_field = self._route(schema_name)
        value = encode(schema_name, record)
        key = record[key_field] if key_field else None
        headers = [("event_type", event_type_of(schema_name, record).encode()),
                   ("produced_at_ms", str(time.time_ns() // 1_000_000).encode())]
        self.send_raw(topic, key.encode() if key is not None else None, value, headers)

    def send_raw(self, topic: str, key: bytes | None, value: bytes | None,
                 headers: list[tuple[str, bytes]] | None = None, *, partition: int | None = None) -> None:
        """Queue already-encoded bytes (used for poison records, replays and markers); `partition` None = by key.
        The run header is added."""
        headers = [*headers, self._run_header] if headers else [self._run_header]
        placement = {} if partition is None else {"partition": partition}
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=self._on_delivery, **placement)
                break
            except BufferError:
                self._producer.poll(0.05)  # local queue full: let deliveries drain, then retry
        self.sent += 1
        if self.sent % 1000 == 0:
            self._producer.poll(0)

    def send_markers(self, marker: StepMarker, topic_keys: Iterable[str] = MARKED_TOPICS, *, timeout_s: float = 10.0) -> int:
        """Queue the step marker on every partition of each catalog topic in `topic_keys`; returns how many.

        The idempotent producer keeps each partition in order, so once the marker of a partition is
        acknowledged every event queued before it on that partition is too."""
        headers = marker.headers()
        sent = 0
        for key in topic_keys:
            topic = topic_spec(key).qualified(self._namespace)
            for partition in range(self._partition_count(topic, timeout_s)):
                self.send_raw(topic, MARKER_KEY, None, headers, partition=partition)
                sent += 1
        return sent

    def _partition_count(self, topic: str, timeout_s: float) -> int:
        """Partitions of `topic` as the broker has them (looked up once per topic)."""
        count = self._partitions.get(topic)
        if count is None:
            try:
                metadata = self._producer.list_topics(topic, timeout=timeout_s).topics.get(topic)
            except KafkaException as exc:
                raise RideshareError(f"cannot read the partitions of {topic}: {exc}; is Kafka up?") from exc
            if metadata is None or metadata.error is not None or not metadata.partitions:
                raise RideshareError(f"topic {topic} does not exist; create the catalog's topics with `rideshare topics create`")
            count = self._partitions[topic] = len(metadata.partitions)
        return count

    def _on_delivery(self, error: Any, message: Any) -> None:
        if error is not None:
            self.failed.append(f"{message.topic()}: {error.str()}")

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every queued event is acknowledged; raise if any delivery failed."""
        try:
            remaining = self._producer.flush(timeout_s)
        except KafkaException as exc:
            raise RideshareError(f"Kafka producer failed: {exc}") from exc
        if remaining:
            raise RideshareError(f"{remaining} events not delivered within {timeout_s:.0f} s; is Kafka up?")
        if self.failed:
            raise RideshareError(f"{len(self.failed)} events failed delivery, first: {self.failed[0]}")
