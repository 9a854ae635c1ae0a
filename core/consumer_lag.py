"""A consumer group's lag from its committed offsets, read with the Kafka admin client.

One group per request: the admin API answers offsets of a single group per call (confluent-kafka raises
for several), so callers that want many groups ask once per group. Lag of a partition is its end offset
(high watermark) minus the group's committed offset; partitions the group never committed are left out.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]  # exported, not in __all__

from core.exceptions import RideshareError

__all__ = ["ConsumerLagError", "GroupLag", "RenewingAdmin", "committed_offsets", "end_offsets", "group_lag"]

Partition = tuple[str, int]


class ConsumerLagError(RideshareError):
    """The broker did not answer the offsets of a group or of its partitions."""


# A partition whose leader does not serve it yet (moving, or the topic just created), or that the client's
# metadata does not know yet: worth asking again, although the admin API does not flag these as retriable.
_NOT_YET_SERVED = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.REPLICA_NOT_AVAILABLE,
                             KafkaError.UNKNOWN_LEADER_EPOCH, KafkaError.FENCED_LEADER_EPOCH, KafkaError.UNKNOWN_TOPIC_OR_PART,
                             KafkaError._UNKNOWN_PARTITION, KafkaError._NOENT})


class RenewingAdmin:
    """An admin client for repeated readings, replaced by a new one after a reading that failed.

    A client that lived through a broker restart can go on timing out on its group offset requests
    ("Failed while waiting for response from broker") for minutes, while a new client in the same
    process is answered at once (librdkafka 2.16, one broker stopped and started). A new client costs
    a few milliseconds, and a reading fails only while something is wrong anyway."""

    def __init__(self, bootstrap_servers: str, *, timeout_s: float = 5.0) -> None:
        self._config: dict[str, str | int | float | bool] = {"bootstrap.servers": bootstrap_servers,
                                                             "socket.timeout.ms": int(timeout_s * 1000)}
        self.client = AdminClient(self._config)

    def renew(self) -> None:
        self.client = AdminClient(self._config)


@dataclass(frozen=True)
class GroupLag:
    group_id: str
    committed: dict[Partition, int]
    end: dict[Partition, int]

    @property
    def by_partition(self) -> dict[Partition, int]:
        return {tp: max(0, self.end.get(tp, offset) - offset) for tp, offset in self.committed.items()}

    @property
    def total(self) -> int:
        """Records the group is behind, summed over every partition it committed."""
        return sum(self.by_partition.values())

    @property
    def committed_total(self) -> int:
        """Sum of committed offsets: its growth over time is the group's drain rate."""
        return sum(self.committed.values())

    def by_topic(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (topic, _), lag in self.by_partition.items():
            out[topic] = out.get(topic, 0) + lag
        return out


def committed_offsets(admin: AdminClient, group_id: str, *, timeout_s: float = 5.0) -> dict[Partition, int]:
    """The group's committed offset per partition (empty when the group does not exist or never committed)."""
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_id)], request_timeout=timeout_s)
    try:
        answer = futures[group_id].result(timeout=timeout_s + 1)
    except KafkaException as exc:
        raise ConsumerLagError(f"offsets of consumer group {group_id!r}: {exc.args[0]}") from exc
    except TimeoutError as exc:
        raise ConsumerLagError(f"offsets of consumer group {group_id!r}: no answer within {timeout_s:g} s") from exc
    return {(tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions or () if tp.offset >= 0 and tp.error is None}


def end_offsets(admin: AdminClient, partitions: list[Partition], *, timeout_s: float = 5.0, attempts: int = 3,
                missing_ok: bool = False) -> dict[Partition, int]:
    """The high watermark of each partition. A partition whose leader is moving or not serving yet (a retriable
    error, or one of _NOT_YET_SERVED, e.g. right after the topic was created) is asked again, up to `attempts`
    times, with the client's metadata refreshed; one still unanswered raises ConsumerLagError, or is left
    out with `missing_ok`."""
    out: dict[Partition, int] = {}
    pending = list(partitions)
    last_error = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(0.2 * attempt, 1.0))
            with contextlib.suppress(KafkaException):  # the client may not know a just-created topic yet
                admin.list_topics(timeout=timeout_s)
        request = {TopicPartition(topic, partition): OffsetSpec.latest()  # type: ignore[no-untyped-call]
                   for topic, partition in pending}
        pending = []
        for tp, future in (admin.list_offsets(request, request_timeout=timeout_s).items() if request else ()):
            key = (tp.topic, tp.partition)
            try:
                out[key] = future.result(timeout=timeout_s + 1).offset
            except KafkaException as exc:
                last_error = f"end offset of {tp.topic}[{tp.partition}]: {exc.args[0]}"
                if not exc.args[0].retriable() and exc.args[0].code() not in _NOT_YET_SERVED and not missing_ok:
                    raise ConsumerLagError(last_error) from exc
                pending.append(key)
            except TimeoutError:
                last_error = f"end offset of {tp.topic}[{tp.partition}]: no answer within {timeout_s:g} s"
                pending.append(key)
        if not pending:
            break
    if pending and not missing_ok:
        raise ConsumerLagError(last_error)
    return out


def group_lag(admin: AdminClient, group_id: str, *, timeout_s: float = 5.0) -> GroupLag:
    committed = committed_offsets(admin, group_id, timeout_s=timeout_s)
    return GroupLag(group_id, committed, end_offsets(admin, list(committed), timeout_s=timeout_s))
