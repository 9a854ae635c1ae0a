"""Local service launcher: Apache Kafka (KRaft, jars from Maven Central) and Redis, no Docker."""

from rideshare.infra.kafka import KafkaService
from rideshare.infra.redis import RedisService

__all__ = ["KafkaService", "RedisService"]
