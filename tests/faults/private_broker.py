"""A Kafka broker of a test's own, on free ports, started and stopped by the project's launcher
(rideshare/infra): a test may stop and restart it mid-run without touching the session's broker."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import Consumer, KafkaError, TopicPartition

from core.settings import Settings
from rideshare.infra import KafkaService
from schemas.catalog import CATALOG
from schemas.codec import decode

__all__ = ["event_ids_in_topics", "private_broker"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_broker(settings: Settings) -> Iterator[tuple[KafkaService, Settings]]:
    """A fresh single-node broker; yields its service and settings pointing at it. Its data is removed after."""
    own = settings.model_copy(update={"kafka_port": _free_port(), "kafka_controller_port": _free_port(), "kafka_bootstrap": None})
    service = KafkaService(own)
    service.start()
    try:
        yield service, own
    finally:
        service.stop()
        shutil.rmtree(service.home, ignore_errors=True)


def event_ids_in_topics(settings: Settings) -> list[str]:
    """The event_id of every record in every catalog topic (in this namespace), duplicates kept."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": "fault-count", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    ids: list[str] = []
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = [TopicPartition(spec.qualified(settings.topic_namespace), p, 0) for spec in CATALOG
                      for p in metadata.topics[spec.qualified(settings.topic_namespace)].partitions]
        ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
        pending = {key for key, end in ends.items() if end > 0}
        consumer.assign([tp for tp in partitions if (tp.topic, tp.partition) in pending])
        deadline = time.monotonic() + 120
        while pending:
            assert time.monotonic() < deadline, f"could not read to the end of {sorted(pending)}"
            for message in consumer.consume(10_000, timeout=1):
                key = (message.topic(), message.partition())
                if message.error() is not None:
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        pending.discard(key)
                    continue
                if message.value() is not None:  # every record the simulation wrote decodes (a DecodeError fails the test)
                    ids.append(decode(message.value())[1]["event_id"])
                if message.offset() + 1 >= ends[key]:
                    pending.discard(key)
    finally:
        consumer.close()
    return ids
