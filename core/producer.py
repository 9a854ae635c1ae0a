"""The one Kafka event producer: catalog topic and key, Avro single-object value, event-type header.

Idempotent, lz4-compressed and batched (linger), never flushed per message. The simulation's Kafka
sink, the benchmarks and the tests all produce through it. `send_markers` sends the step markers of
the lockstep surge loop (schemas/markers.py) to every partition of the marked topics. Every record carries the header
`schemas.markers.RUN_HEADER`: a fresh id per producer, so stream state can tell two runs of one
deterministic session apart (see schemas/markers.py).

Backpressure: librdkafka's local queue is the bounded queue. Queued events never expire
(`message.timeout.ms` 0): in a broker outage they wait, and the idempotent producer delivers each of them
exactly once when the broker is back. `congested()` says the queue is past its high-water mark (a caller
pauses producing until `wait_for_room()`), `health` whether the broker answers. When the queue is full
inside a send, the producer waits in `blocking_section()`, which an owner holding a lock sets to release it.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from confluent_kafka import KafkaException, Producer

from core.broker_health import BrokerHealth
from core.exceptions import RideshareError
from core.settings import Settings
from schemas.catalog import topic_for_schema, topic_spec
from schemas.codec import encode, event_type_of
from schemas.markers import MARKED_TOPICS, MARKER_KEY, RUN_HEADER, StepMarker

__all__ = ["EventProducer", "UndeliveredError"]


class EventProducer:
    def __init__(self, settings: Settings, **overrides: Any) -> None:
        config: dict[str, Any] = {
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
            "message.timeout.ms": 0,  # never drop a queued event: it waits for the broker (see the module doc)
            "statistics.interval.ms": 1000,  # broker connection states for `health`
        }
        config.update(overrides)
        self.health = health = BrokerHealth()
        # The callbacks hold the health record only, not this object: no reference cycle, so a producer
        # dropped by its owner is destroyed at once instead of reconnecting until a garbage collection.
        config["error_cb"] = lambda error: health.on_error(error.code(), error.str())
        config["stats_cb"] = health.on_stats
        self._producer = Producer(config)
        self.capacity = int(config["queue.buffering.max.messages"])
        self._high_water, self._low_water = self.capacity // 2, self.capacity // 4
        self._congested = False
        self.blocking_section: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext
        self._namespace = settings.topic_namespace
        self._topics: dict[str, tuple[str, str | None]] = {}
        self._partitions: dict[str, int] = {}
        self.sent = 0
        self.failed = 0  # deliveries that failed for good (bounded: a count and the first reason)
        self.first_failure: str | None = None
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
        sent: list[tuple[str, str | bytes | None]] = [*headers, self._run_header] if headers else [self._run_header]
        placement: dict[str, Any] = {} if partition is None else {"partition": partition}
        try:
            self._producer.produce(topic, value=value, key=key, headers=sent, on_delivery=self._on_delivery, **placement)
        except BufferError:
            # The bounded queue is full (a caller that checks congested() between batches rarely gets here).
            with self.blocking_section():
                while True:
                    self._producer.poll(0.05)  # serve deliveries; the queue drains once the broker answers
                    try:
                        self._producer.produce(topic, value=value, key=key, headers=sent, on_delivery=self._on_delivery,
                                               **placement)
                        break
                    except BufferError:
                        continue
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
        if error is None:
            if self.health.available is not True:  # an attribute check per delivery; the call only on a change
                self.health.on_delivered()
            return
        self.failed += 1
        if self.first_failure is None:
            self.first_failure = f"{message.topic()}: {error.str()}"

    # -- backpressure --------------------------------------------------------------------------
    def queued(self) -> int:
        """Events queued or in flight (not yet acknowledged by the broker)."""
        return len(self._producer)

    def poll(self) -> None:
        """Serve delivery, error and statistics callbacks (non-blocking)."""
        self._producer.poll(0)

    def queue_full(self) -> bool:
        """No room for one more event: a send would wait for the broker."""
        return bool(len(self._producer) >= self.capacity)

    def congested(self) -> bool:
        """Past the high-water mark (half the queue) until drained below the low-water mark (a quarter)."""
        queued = len(self._producer)
        self._congested = queued >= (self._low_water if self._congested else self._high_water)
        return self._congested

    def wait_for_room(self, timeout_s: float) -> bool:
        """Serve deliveries for up to `timeout_s`; True once the queue is below its low-water mark."""
        deadline = time.monotonic() + timeout_s
        while self.congested():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._producer.poll(min(left, 0.05))
        return True

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every queued event is acknowledged; raise if any delivery failed."""
        try:
            remaining = self._producer.flush(timeout_s)
        except KafkaException as exc:
            raise RideshareError(f"Kafka producer failed: {exc}") from exc
        if remaining:
            raise UndeliveredError(remaining, timeout_s)
        if self.failed:
            raise RideshareError(f"{self.failed} events failed delivery, first: {self.first_failure}")

    def close(self, timeout_s: float = 60.0) -> None:
        """Flush (raising as `flush` does), then shut the client down: it stops connecting to the brokers.

        Events the flush could not deliver are dropped (its error says how many): queued events never
        expire here, and the client's own close would wait for them for ever."""
        try:
            self.flush(timeout_s)
        finally:
            if len(self._producer):
                self._producer.purge()
                self._producer.poll(0)
            self._producer.close()


class UndeliveredError(RideshareError):
    """Events still queued after a flush timed out: the broker did not answer (they stay queued)."""

    def __init__(self, remaining: int, timeout_s: float) -> None:
        super().__init__(f"{remaining} events not delivered within {timeout_s:.0f} s; is Kafka up? "
                         "(they stay queued and are delivered if the broker answers before the process exits)")
        self.remaining = remaining
