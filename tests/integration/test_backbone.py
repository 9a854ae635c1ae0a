"""The event backbone against the real local broker and Redis: topics from the catalog, every event
type through Kafka with both client libraries, consumer-group commit/resume, Redis pub/sub, the
service launcher's lifecycle and `topics tail` on poison records."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka import Consumer, KafkaException
from confluent_kafka import TopicPartition as ConfluentPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from core.producer import EventProducer
from core.settings import PROJECT_ROOT, Settings
from rideshare.infra import KafkaService, RedisService
from rideshare.infra.process import pid_alive, port_open
from rideshare.topics import create_topics
from schemas.catalog import CATALOG, topic_for_schema
from schemas.codec import decode, encode
from tests.unit.schemas.samples import SAMPLES

pytestmark = pytest.mark.integration


def _consume_confluent(settings: Settings, topic: str, count: int, group: str | None = None) -> list:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group or uuid.uuid4().hex,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    messages, deadline = [], time.monotonic() + 30
    while len(messages) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            messages.append(message)
    consumer.close()
    return messages


def test_topics_exist_with_the_catalog_partition_counts(topics: Settings) -> None:
    metadata = AdminClient({"bootstrap.servers": topics.bootstrap_servers}).list_topics(timeout=10)
    for spec in CATALOG:
        name = spec.qualified(topics.topic_namespace)
        assert name in metadata.topics, name
        assert len(metadata.topics[name].partitions) == spec.partitions
    # Idempotent: a second run creates nothing.
    assert not any(created for _, created in create_topics(topics))


def test_created_topics_are_served_by_their_leaders_once_create_topics_returns(kafka: KafkaService, settings: Settings) -> None:
    """A just-created topic is in the metadata before its leaders serve it, and an idempotent producer loses
    records produced in that window without an error; create_topics returns only after it."""
    fresh = settings.model_copy(update={"topic_namespace": f"w{uuid.uuid4().hex[:8]}."})
    create_topics(fresh)
    request = {ConfluentPartition(spec.qualified(fresh.topic_namespace), p): OffsetSpec.latest()
               for spec in CATALOG for p in range(spec.partitions)}
    admin, errors = AdminClient({"bootstrap.servers": fresh.bootstrap_servers}), []
    for tp, future in admin.list_offsets(request, request_timeout=10).items():
        try:
            future.result(timeout=20)
        except KafkaException as exc:
            errors.append(f"{tp.topic}[{tp.partition}]: {exc.args[0].name()}")
    assert not errors, errors

    # and a burst produced at once lands whole, every partition from its first record
    producer = EventProducer(fresh)
    spec = topic_for_schema("trip_event")
    trips = spec.qualified(fresh.topic_namespace)
    for n in range(2_000):
        producer.send_raw(trips, f"trip-{n}".encode(), b"x")
    producer.flush()
    consumer = Consumer({"bootstrap.servers": fresh.bootstrap_servers, "group.id": uuid.uuid4().hex})
    try:
        ends = [consumer.get_watermark_offsets(ConfluentPartition(trips, p), timeout=10) for p in range(spec.partitions)]
    finally:
        consumer.close()
    assert all(low == 0 for low, _ in ends) and sum(high for _, high in ends) == 2_000, ends


def test_every_event_type_round_trips_through_kafka_with_confluent_kafka(topics: Settings) -> None:
    producer = EventProducer(topics)
    for name, record in SAMPLES.items():
        producer.send(name, record)
    producer.flush()
    for name, record in SAMPLES.items():
        spec = topic_for_schema(name)
        messages = _consume_confluent(topics, spec.qualified(topics.topic_namespace), 1)
        [message] = [m for m in messages if decode(m.value())[1]["event_id"] == record["event_id"]]
        assert message.key().decode() == record[spec.key_field]
        assert decode(message.value()) == (name, record)
        headers = dict(message.headers())
        expected_type = record["event_type"] if name == "trip_event" else name
        assert headers["event_type"].decode() == expected_type


def test_every_event_type_round_trips_through_kafka_with_aiokafka(topics: Settings) -> None:
    namespace = f"{topics.topic_namespace}aio."

    async def scenario() -> dict[str, tuple]:
        from rideshare.topics import create_topics as create

        create(topics.model_copy(update={"topic_namespace": namespace}))
        producer = AIOKafkaProducer(bootstrap_servers=topics.bootstrap_servers, enable_idempotence=True)
        await producer.start()
        try:
            for name, record in SAMPLES.items():
                spec = topic_for_schema(name)
                await producer.send_and_wait(spec.qualified(namespace), encode(name, record),
                                             key=record[spec.key_field].encode(), headers=[("event_type", name.encode())])
        finally:
            await producer.stop()
        received = {}
        consumer = AIOKafkaConsumer(*(topic_for_schema(n).qualified(namespace) for n in SAMPLES),
                                    bootstrap_servers=topics.bootstrap_servers, group_id=uuid.uuid4().hex,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            deadline = time.monotonic() + 30
            while len(received) < len(SAMPLES) and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for message in records:
                        name, value = decode(message.value)
                        received[name] = (message.key.decode(), value)
        finally:
            await consumer.stop()
        return received

    received = asyncio.run(scenario())
    assert set(received) == set(SAMPLES)
    for name, (key, value) in received.items():
        assert value == SAMPLES[name]
        assert key == SAMPLES[name][topic_for_schema(name).key_field]


def test_consumer_group_commit_is_resumed_by_a_new_member(topics: Settings) -> None:
    topic = topic_for_schema("simulation_control").qualified(topics.topic_namespace)  # one partition: ordered
    producer = EventProducer(topics)
    ids = [f"commit-{i}" for i in range(10)]
    for event_id in ids:
        producer.send("simulation_control", dict(SAMPLES["simulation_control"], event_id=event_id))
    producer.flush()
    group = f"resume-{uuid.uuid4().hex[:6]}"
    consumer = Consumer({"bootstrap.servers": topics.bootstrap_servers, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    first: list[str] = []
    while len(first) < 4:
        message = consumer.poll(1.0)
        if message is not None and not message.error() and decode(message.value())[1]["event_id"].startswith("commit-"):
            first.append(decode(message.value())[1]["event_id"])
            if len(first) == 4:
                consumer.commit(message, asynchronous=False)
    consumer.close()

    async def resume() -> list[str]:
        aio = AIOKafkaConsumer(topic, bootstrap_servers=topics.bootstrap_servers, group_id=group,
                               auto_offset_reset="earliest", enable_auto_commit=False)
        await aio.start()
        try:
            committed = await aio.committed(TopicPartition(topic, 0))
            rest: list[str] = []
            deadline = time.monotonic() + 20
            while len(rest) < 6 and time.monotonic() < deadline:
                for records in (await aio.getmany(timeout_ms=500)).values():
                    rest += [decode(m.value)[1]["event_id"] for m in records]
            return [str(committed), *rest]
        finally:
            await aio.stop()

    committed, *rest = asyncio.run(resume())
    assert first == ids[:4]
    assert [event_id for event_id in rest if event_id.startswith("commit-")] == ids[4:]
    assert int(committed) >= 4


def test_redis_ping_publish_subscribe(redis_service: RedisService, settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    assert client.ping()
    pubsub = client.pubsub()
    channel = f"{settings.topic_namespace}test-channel"
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    assert client.publish(channel, "hello") == 1
    message = pubsub.get_message(timeout=5)
    assert message["data"] == b"hello"
    pubsub.close()


def _rideshare(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rideshare.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=PROJECT_ROOT, timeout=180)


def test_infra_up_is_idempotent_and_down_leaves_no_process(kafka: KafkaService, tmp_path: Path) -> None:
    # A second, private pair of services on other ports, so the shared ones keep running.
    env = {"RIDESHARE_KAFKA_PORT": "19192", "RIDESHARE_KAFKA_CONTROLLER_PORT": "19193", "RIDESHARE_REDIS_PORT": "16399",
           "RIDESHARE_LOCAL_DIR": str(tmp_path / "local")}
    # Reuse the jars already fetched for the shared broker instead of resolving them again.
    lib = kafka.lib_dir
    (tmp_path / "local" / "kafka" / kafka.version).mkdir(parents=True)
    (tmp_path / "local" / "kafka" / kafka.version / "lib").symlink_to(lib)
    try:
        first = _rideshare("infra", "up", env=env)
        assert first.returncode == 0, first.stderr + first.stdout
        assert "started" in first.stdout
        second = _rideshare("infra", "up", env=env)
        assert second.returncode == 0 and second.stdout.count("already running") == 2, second.stdout
        status = _rideshare("infra", "status", env=env)
        assert status.returncode == 0, status.stdout
        pids = [int((tmp_path / "local" / sub).read_text()) for sub in ("kafka/port-19192/kafka.pid", "redis/port-16399/redis.pid")]
    finally:
        down = _rideshare("infra", "down", env=env)
    assert down.returncode == 0, down.stderr
    assert not any(pid_alive(pid) for pid in pids)
    assert not port_open("127.0.0.1", 19192) and not port_open("127.0.0.1", 16399)
    assert _rideshare("infra", "status", env=env).returncode == 1


def test_topics_tail_reports_poison_records_instead_of_crashing(topics: Settings) -> None:
    producer = EventProducer(topics)
    topic = topic_for_schema("rating").qualified(topics.topic_namespace)
    poison = random.Random(7).randbytes(64)
    producer.send_raw(topic, b"trip-poison", poison)
    producer.send("rating", dict(SAMPLES["rating"], trip_id="trip-poison"))
    producer.flush()
    result = _rideshare("topics", "tail", "ratings", "--from-beginning", "--json", "--idle-timeout", "5",
                        env={"RIDESHARE_TOPIC_NAMESPACE": topics.topic_namespace})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    poison_lines = [line for line in lines if line.get("undecodable")]
    valid = [line for line in lines if not line.get("undecodable") and line["key"] == "trip-poison"]
    assert len(poison_lines) == 1 and "not_single_object" in poison_lines[0]["error"]
    assert valid and valid[0]["value"]["stars"] == SAMPLES["rating"]["stars"]
