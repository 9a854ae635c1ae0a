"""Broker availability from librdkafka's callbacks: down at once on "all brokers down", up again on a
statistics report with a connection UP or on a delivery."""

from __future__ import annotations

import json

from confluent_kafka import KafkaError

from core.broker_health import BrokerHealth


def _stats(*states: str) -> str:
    return json.dumps({"brokers": {f"127.0.0.1:9092/{i}": {"state": state} for i, state in enumerate(states)}})


def test_unknown_until_the_first_report_then_follows_the_connections() -> None:
    health = BrokerHealth()
    assert health.available is None and health.down_for_s() is None
    health.on_stats(_stats("INIT", "UP"))
    assert health.available is True
    health.on_error(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down")
    assert health.available is False and health.down_for_s() is not None and health.last_error == "1/1 brokers are down"
    health.on_stats(_stats("CONNECT", "TRY_CONNECT"))
    assert health.available is False
    health.on_stats(_stats("CONNECT", "UP"))
    assert health.available is True and health.down_for_s() is None


def test_other_errors_and_garbage_do_not_change_availability() -> None:
    health = BrokerHealth()
    health.on_delivered()
    health.on_error(KafkaError._MSG_TIMED_OUT, "timed out")
    health.on_stats("not json")
    health.on_stats(json.dumps({"brokers": {}}))
    assert health.available is True and health.last_error == "timed out"
