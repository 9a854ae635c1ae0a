"""Shared fixtures. Integration fixtures start the real local services through the project's own
launcher (a no-op when `make test` or `rideshare infra up` already started them) and give every test
module its own topic namespace and lake folder, so modules (and runs sharing one broker) never see
each other's records."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")

from core.settings import Settings, load_settings
from rideshare.infra import KafkaService, RedisService
from tests.admin_clients import admin_for


@pytest.fixture(scope="session")
def service_settings() -> Settings:
    """The settings of the shared services (ports, local folder) as the environment gives them."""
    return load_settings()


def _topic_names(settings: Settings) -> set[str] | None:
    """Every topic of the shared broker; None when none answers."""
    from rideshare.infra.process import port_open

    if settings.kafka_bootstrap is None and not port_open(settings.kafka_host, settings.kafka_port):
        return None
    try:
        return set(admin_for(settings.bootstrap_servers).list_topics(timeout=10).topics)
    except Exception:  # a broker that does not answer in time: nothing to clean up
        return None


@pytest.fixture(scope="module", autouse=True)
def _module_topics_deleted(service_settings: Settings) -> Iterator[None]:
    """Delete the topics a test module created once it is done (after its own fixtures stopped): a broker keeps
    files open for every partition, and a whole run's thousands of partitions would exhaust its descriptors.

    Only where this run owns the broker (`make test` sets RIDESHARE_TESTS_DELETE_TOPICS=1): a second test run
    on the same broker would otherwise lose the topics it is using."""
    if os.environ.get("RIDESHARE_TESTS_DELETE_TOPICS") != "1":
        yield
        return
    before = _topic_names(service_settings)
    yield
    after = _topic_names(service_settings)
    created = sorted(topic for topic in (after or set()) - (before or set()) if not topic.startswith("__"))
    if created:
        futures = admin_for(service_settings.bootstrap_servers).delete_topics(created, operation_timeout=30)
        for future in futures.values():
            with contextlib.suppress(Exception):  # already gone, or the broker stopped: nothing left to free
                future.result(timeout=60)


@pytest.fixture(scope="module")
def settings(service_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with a unique topic namespace and a private lake folder for this test module."""
    namespace = f"t{uuid.uuid4().hex[:8]}."
    lake = tmp_path_factory.mktemp("lake")
    return service_settings.model_copy(update={"topic_namespace": namespace, "lake_uri": str(lake)})


@pytest.fixture(scope="session")
def kafka(service_settings: Settings) -> Iterator[KafkaService]:
    service = KafkaService(service_settings)
    started = service.start()
    yield service
    if started:
        service.stop()


@pytest.fixture(scope="session")
def redis_service(service_settings: Settings) -> Iterator[RedisService]:
    service = RedisService(service_settings)
    started = service.start()
    yield service
    if started:
        service.stop()


@pytest.fixture(scope="module")
def topics(kafka: KafkaService, settings: Settings) -> Settings:
    """Every catalog topic exists (in this module's namespace). Returns the settings."""
    from rideshare.topics import create_topics

    create_topics(settings)
    return settings
