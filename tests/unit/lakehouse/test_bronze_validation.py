from __future__ import annotations

import time

import pytest

from lakehouse.bronze.validation import Decoded, EventTimeBounds, KafkaRecord, Rejected, classify
from schemas.catalog import CATALOG, topic_for_schema, topic_spec
from schemas.codec import encode
from tests.unit.lakehouse.bronze_poison import DAY_MS, kafka_key, poison_cases, valid_event

NOW_MS = int(time.time() * 1000)
CASES = poison_cases(NOW_MS)


def _record(topic_key: str, key: bytes | None, value: bytes | None, *, timestamp_ms: int = NOW_MS) -> KafkaRecord:
    return KafkaRecord(topic_spec(topic_key).name, 2, 41, timestamp_ms, key, value)


@pytest.mark.parametrize("schema_name", [spec.value_schema for spec in CATALOG if spec.value_schema])
def test_a_valid_event_of_every_topic_is_decoded_with_its_key(schema_name: str) -> None:
    event = valid_event(schema_name, 1, NOW_MS)
    spec = topic_for_schema(schema_name)
    outcome = classify(_record(spec.key, kafka_key(schema_name, event), encode(schema_name, event)), spec)
    assert isinstance(outcome, Decoded)
    assert outcome.event == event
    assert outcome.key == kafka_key(schema_name, event).decode()


def test_the_poison_catalogue_has_at_least_twenty_distinct_kinds() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 20
    assert len({case.error_type for case in CASES}) >= 12


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_poison_kind_is_rejected_with_its_reason_and_keeps_its_raw_bytes(case) -> None:  # type: ignore[no-untyped-def]
    record = _record(case.topic_key, case.key, case.value)
    outcome = classify(record, topic_spec(case.topic_key))
    assert isinstance(outcome, Rejected)
    assert (outcome.error_type, outcome.record) == (case.error_type, record)
    assert outcome.error_message


def test_event_time_bounds_are_asymmetric_around_the_broker_timestamp_and_configurable() -> None:
    def gps_at(event_time_ms: int) -> KafkaRecord:
        event = valid_event("gps_ping", 1, event_time_ms)
        return _record("gps", kafka_key("gps_ping", event), encode("gps_ping", event))

    spec = topic_spec("gps")
    replay_of_last_year = gps_at(NOW_MS - 300 * DAY_MS)
    assert isinstance(classify(replay_of_last_year, spec), Decoded)
    ahead = classify(gps_at(NOW_MS + 31 * DAY_MS), spec)
    assert isinstance(ahead, Rejected) and "31.0 days after" in ahead.error_message
    strict = EventTimeBounds(max_ahead_ms=DAY_MS, max_behind_ms=7 * DAY_MS)
    behind = classify(gps_at(NOW_MS - 10 * DAY_MS), spec, bounds=strict)
    assert isinstance(behind, Rejected) and "10.0 days before" in behind.error_message
    assert isinstance(classify(gps_at(NOW_MS - 6 * DAY_MS), spec, bounds=strict), Decoded)


def test_nullable_amounts_and_values_are_valid_when_absent() -> None:
    event = valid_event("trip_event", 1, NOW_MS) | {"fare_brl": None, "route_distance_km": None, "eta_seconds": None}
    outcome = classify(_record("trips", kafka_key("trip_event", event), encode("trip_event", event)), topic_spec("trips"))
    assert isinstance(outcome, Decoded)


def test_points_on_the_edge_of_the_sao_paulo_box_are_valid_and_just_outside_are_not() -> None:
    inside = valid_event("gps_ping", 1, NOW_MS) | {"lat": -24.3, "lon": -46.0}
    outside = valid_event("gps_ping", 2, NOW_MS) | {"lat": -24.31, "lon": -46.0}
    spec = topic_spec("gps")
    assert isinstance(classify(_record("gps", b"D00001", encode("gps_ping", inside)), spec), Decoded)
    assert isinstance(classify(_record("gps", b"D00001", encode("gps_ping", outside)), spec), Rejected)


def test_an_undecodable_key_is_shown_readably_in_the_dead_letter() -> None:
    event = valid_event("gps_ping", 1, NOW_MS)
    outcome = classify(_record("gps", b"D\xff1", encode("gps_ping", event)), topic_spec("gps"))
    assert isinstance(outcome, Rejected)
    assert outcome.key_text == "D\ufffd1"
