"""Deleting a throwaway namespace (benchmarks, soaks) on the real broker: its topics go, no other's."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka.admin import NewTopic

from core.exceptions import RideshareError
from core.settings import Settings
from rideshare.topics import admin_client, create_topics, delete_namespace
from schemas.catalog import CATALOG


def _names(settings: Settings) -> set[str]:
    return set(admin_client(settings).list_topics(timeout=10).topics)


def test_deleting_a_namespace_removes_its_topics_and_those_naming_it_and_no_other(topics: Settings) -> None:
    neighbour = topics.model_copy(update={"topic_namespace": f"t{uuid.uuid4().hex[:8]}."})
    create_topics(neighbour)
    quix_changelog = f"changelog__{topics.topic_namespace}quix--{topics.topic_namespace}rideshare.gps--default"
    admin = admin_client(topics)  # kept: a collected client cancels its futures
    for future in admin.create_topics([NewTopic(quix_changelog, 1, 1)]).values():
        future.result()

    deleted = delete_namespace(topics)

    assert quix_changelog in deleted and {spec.qualified(topics.topic_namespace) for spec in CATALOG} <= set(deleted)
    deadline = time.monotonic() + 30
    while any(topics.topic_namespace in name for name in _names(topics)) and time.monotonic() < deadline:
        time.sleep(0.5)  # the controller deletes asynchronously
    names = _names(topics)
    assert not [name for name in names if topics.topic_namespace in name]
    assert {spec.qualified(neighbour.topic_namespace) for spec in CATALOG} <= names
    assert delete_namespace(topics) == []  # nothing left: a second call is a no-op
    delete_namespace(neighbour)


def test_the_default_namespace_is_never_deleted(settings: Settings) -> None:
    with pytest.raises(RideshareError, match="default"):
        delete_namespace(settings.model_copy(update={"topic_namespace": ""}))
