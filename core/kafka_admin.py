"""Read-only Kafka metadata the workers need: a topic's identity and its partitions' end offsets."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient

from core.exceptions import RideshareError

__all__ = ["TopicState", "topic_state"]


@dataclass(frozen=True)
class TopicState:
    """A topic's id (new when the topic is recreated) and each partition's low and high watermarks
    (the first offset still held and the end offset)."""

    topic_id: str
    high_watermarks: dict[int, int]
    low_watermarks: dict[int, int]


def topic_state(bootstrap_servers: str, topic: str, *, timeout_s: float = 10.0) -> TopicState:
    """The current id and end offsets of `topic`; raises RideshareError when the broker does not answer."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": int(timeout_s * 1000)})
    try:
        description = admin.describe_topics(TopicCollection([topic]), request_timeout=timeout_s)[topic].result()
    except KafkaException as exc:
        raise RideshareError(f"could not describe topic {topic}: {exc.args[0].str()}") from exc
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": "rideshare-topic-state", "enable.auto.commit": False})
    try:
        marks = {p.id: consumer.get_watermark_offsets(TopicPartition(topic, p.id), timeout=timeout_s) for p in description.partitions}
    except KafkaException as exc:
        raise RideshareError(f"could not read the offsets of {topic}: {exc.args[0].str()}") from exc
    finally:
        consumer.close()
    return TopicState(str(description.topic_id), {p: high for p, (_, high) in marks.items()}, {p: low for p, (low, _) in marks.items()})
