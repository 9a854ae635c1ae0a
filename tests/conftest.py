"""Shared fixtures. Integration fixtures start the real local services through the project's own
launcher (a no-op when `make test` or `rideshare infra up` already started them) and give every test
module its own topic namespace and lake folder, so modules (and runs sharing one broker) never see
each other's records."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")

from core.settings import Settings, load_settings
from rideshare.infra import KafkaService, RedisService


@pytest.fixture(scope="session")
def service_settings() -> Settings:
    """The settings of the shared services (ports, local folder) as the environment gives them."""
    return load_settings()


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
