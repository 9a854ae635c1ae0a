"""Kafka topic administration and inspection over the catalog: create, describe (offsets, lag), tail."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from core.consumer_lag import ConsumerLagError, committed_offsets, end_offsets
from core.exceptions import RideshareError
from core.settings import Settings
from schemas.catalog import CATALOG, TopicSpec
from schemas.codec import DecodeError, decode

__all__ = ["TailRecord", "TopicInfo", "admin_client", "create_topics", "delete_namespace", "describe_topics", "tail_topic",
           "wait_until_writable"]


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.bootstrap_servers, "socket.timeout.ms": 5000})


def create_topics(settings: Settings, specs: tuple[TopicSpec, ...] = CATALOG) -> list[tuple[str, bool]]:
    """Create every catalog topic that is missing (idempotent), replicated as the cluster size allows
    (`Settings.kafka_replication_factor`, `kafka_min_insync_replicas`). Returns (name, created) pairs."""
    admin = admin_client(settings)
    durability = {"min.insync.replicas": str(settings.kafka_min_insync_replicas)}
    new_topics = [
        NewTopic(spec.qualified(settings.topic_namespace), num_partitions=spec.partitions,
                 replication_factor=settings.kafka_replication_factor, config={**spec.config, **durability})
        for spec in specs
    ]
    results = []
    for name, future in admin.create_topics(new_topics, operation_timeout=30).items():
        try:
            future.result()
            results.append((name, True))
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RideshareError(f"could not create topic {name}: {exc.args[0].str()}") from exc
            results.append((name, False))
    wait_until_writable(admin, [(topic.topic, p) for topic in new_topics for p in range(topic.num_partitions)])
    return results


def delete_namespace(settings: Settings) -> list[str]:
    """Delete every topic of `settings.topic_namespace`: the catalog's, the workers' internal ones, and those that
    name it inside (Quix Streams' `changelog__<namespace>...`). For throwaway namespaces (benchmarks, soaks)."""
    namespace = settings.topic_namespace
    if not namespace:
        raise RideshareError("refusing to delete the topics of the default (empty) namespace")
    admin = admin_client(settings)
    names = [name for name in admin.list_topics(timeout=10).topics if namespace in name]
    for future in admin.delete_topics(names, operation_timeout=60).values() if names else ():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise RideshareError(f"could not delete the topics of namespace {namespace}: {exc.args[0].str()}") from exc
    return names


def wait_until_writable(admin: AdminClient, partitions: list[tuple[str, int]], *, timeout_s: float = 60.0) -> None:
    """Return once the leader of every (topic, partition) serves it (answers ListOffsets) within `timeout_s`.

    A created topic is announced in the broker's metadata a moment (up to about a second) before its leaders
    serve it, and producing in that window loses records without an error: the idempotent producer's first
    batch of a partition is refused (not leader), a later batch already in flight is accepted as the
    partition's first (a broker accepts any sequence from a producer it has no state for), and the retried
    first batch is then taken for one already written. So nothing produces to a topic before this returns."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            end_offsets(admin, partitions, attempts=5)
            return
        except ConsumerLagError as exc:  # any error of a partition just created means not served yet, until the deadline
            if time.monotonic() > deadline:
                raise RideshareError(f"partitions still without a serving leader after {timeout_s:.0f} s: {exc}; "
                                     "check the brokers with `rideshare infra status`") from exc
            time.sleep(0.2)  # an error end_offsets does not retry itself comes back at once: do not spin on the broker


@dataclass
class TopicInfo:
    name: str
    partitions: int
    end_offsets: dict[int, int]
    group_lag: dict[str, int] = field(default_factory=dict)

    @property
    def messages(self) -> int:
        return sum(self.end_offsets.values())


def describe_topics(settings: Settings, *, include_internal: bool = False) -> list[TopicInfo]:
    """Partitions, end offsets and per-consumer-group lag of every topic on the broker."""
    admin = admin_client(settings)
    metadata = admin.list_topics(timeout=10)
    names = sorted(name for name in metadata.topics if include_internal or not name.startswith("__"))
    # A partition that does not answer (its leader moving) is left out of the listing rather than failing it.
    ends = end_offsets(admin, [(name, p) for name in names for p in metadata.topics[name].partitions], missing_ok=True)
    infos = {name: TopicInfo(name, len(metadata.topics[name].partitions),
                             {p: ends[(name, p)] for p in metadata.topics[name].partitions if (name, p) in ends}) for name in names}
    for group_id in sorted(g.group_id for g in admin.list_consumer_groups(request_timeout=10).result().valid):
        # One request per group: the admin API answers a single group per call.
        try:
            committed = committed_offsets(admin, group_id)
        except ConsumerLagError:
            continue  # a group that vanished between the two calls
        for (topic, partition), offset in committed.items():
            info = infos.get(topic)
            if info is None:
                continue
            lag = max(0, info.end_offsets.get(partition, 0) - offset)
            info.group_lag[group_id] = info.group_lag.get(group_id, 0) + lag
    return list(infos.values())


@dataclass(frozen=True)
class TailRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: str | None
    headers: dict[str, str]
    schema: str | None
    value: dict[str, Any] | None
    error: str | None

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "topic": self.topic, "partition": self.partition, "offset": self.offset,
            "timestamp_ms": self.timestamp_ms, "key": self.key, "headers": self.headers,
        }
        if self.error is None:
            body.update(schema=self.schema, value=self.value)
        else:
            body.update(undecodable=True, error=self.error)
        return json.dumps(body, ensure_ascii=False, default=str)


def tail_topic(
    settings: Settings, topic: str, *, from_beginning: bool = False, max_records: int | None = None,
    idle_timeout_s: float | None = None,
) -> Iterator[TailRecord]:
    """Decode records of `topic` as they arrive. Undecodable records are yielded with their error,
    never raised. Stops after `max_records`, or after `idle_timeout_s` without a record."""
    consumer = Consumer({
        "bootstrap.servers": settings.bootstrap_servers,
        "group.id": f"rideshare-tail-{time.time_ns()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest" if from_beginning else "latest",
    })
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None:
        consumer.close()
        raise RideshareError(f"topic {topic!r} does not exist; see `rideshare topics list`")
    consumer.subscribe([topic])
    seen = 0
    last_record = time.monotonic()
    try:
        while max_records is None or seen < max_records:
            message = consumer.poll(0.5)
            if message is None:
                if idle_timeout_s is not None and time.monotonic() - last_record > idle_timeout_s:
                    return
                continue
            if message.error():
                raise RideshareError(f"error reading {topic}: {message.error().str()}")
            last_record = time.monotonic()
            seen += 1
            yield _to_tail_record(message)
    finally:
        consumer.close()


def _to_tail_record(message: Any) -> TailRecord:
    key = message.key()
    headers = {k: (v.decode(errors="replace") if v is not None else "") for k, v in (message.headers() or [])}
    schema: str | None = None
    value: dict[str, Any] | None = None
    error: str | None = None
    try:
        schema, value = decode(message.value())
    except DecodeError as exc:
        error = str(exc)
    return TailRecord(
        topic=message.topic(), partition=message.partition(), offset=message.offset(),
        timestamp_ms=message.timestamp()[1], key=key.decode(errors="replace") if key is not None else None,
        headers=headers, schema=schema, value=value, error=error,
    )
