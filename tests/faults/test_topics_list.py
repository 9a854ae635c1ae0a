"""`rideshare topics list` on a broker with several consumer groups (as after any `make demo`: the
streams workers' group, the simulation's surge readers, tails...). The admin API answers one group per
request; asking for all at once raised and the command died with a traceback."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from typer.testing import CliRunner

from core.settings import Settings
from rideshare.cli import app
from rideshare.topics import describe_topics
from schemas.catalog import topic_spec

pytestmark = pytest.mark.integration


def _commit(settings: Settings, group_id: str, topic: str, offset: int) -> None:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group_id, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        consumer.close()


def test_topics_list_shows_the_lag_of_every_consumer_group(topics: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    topic = topic_spec("ratings").qualified(topics.topic_namespace)
    producer = Producer({"bootstrap.servers": topics.bootstrap_servers, "partitioner": "murmur2_random"})
    for i in range(10):
        producer.produce(topic, value=b"x", partition=0, key=str(i).encode())
    assert producer.flush(30) == 0
    groups = {f"{topics.topic_namespace}group-{uuid.uuid4().hex[:6]}": behind for behind in (3, 7)}
    for group_id, behind in groups.items():
        _commit(topics, group_id, topic, 10 - behind)

    info = next(i for i in describe_topics(topics) if i.name == topic)
    assert {g: info.group_lag[g] for g in groups} == groups

    monkeypatch.setenv("RIDESHARE_TOPIC_NAMESPACE", topics.topic_namespace)
    result = CliRunner().invoke(app, ["topics", "list"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    line = next(row for row in result.output.splitlines() if topic in row)
    for group_id, behind in groups.items():
        assert f"{group_id}: {behind}" in line
