"""The one record classification (schemas.classify), shared by bronze and the real-time topologies."""

from __future__ import annotations

import time

import pytest

from schemas.catalog import CATALOG, topic_for_schema, topic_spec
from schemas.classify import ClassifiedBatch, EventTimeBounds, classify_batch
from schemas.codec import encode
from tests.unit.lakehouse.bronze_poison import DAY_MS, kafka_key, poison_cases, valid_event

NOW_MS = int(time.time() * 1000)
CASES = poison_cases(NOW_MS)


def classify_one(topic_key: str, key: bytes | None, value: bytes | None, *, timestamp_ms: int = NOW_MS,
                 bounds: EventTimeBounds | None = None) -> ClassifiedBatch:
    return classify_batch(topic_spec(topic_key), [key], [value], [timestamp_ms], bounds=bounds or EventTimeBounds())


def gps_at(event_time_ms: int, **bounds: int) -> ClassifiedBatch:
    event = valid_event("gps_ping", 1, event_time_ms)
    return classify_one("gps", kafka_key("gps_ping", event), encode("gps_ping", event), bounds=EventTimeBounds(**bounds))


@pytest.mark.parametrize("schema_name", [spec.value_schema for spec in CATALOG if spec.value_schema])
def test_valid_events_of_every_topic_are_decoded_with_their_keys_in_a_batch(schema_name: str) -> None:
    events = [valid_event(schema_name, n, NOW_MS) for n in range(300)]  # large enough for the block decoder
    spec = topic_for_schema(schema_name)
    keys = [kafka_key(schema_name, event) for event in events]
    result = classify_batch(spec, keys, [encode(schema_name, e) for e in events], [NOW_MS] * len(events))
    assert result.rejections == [] and result.positions == list(range(300))
    assert result.frame.to_dicts() == events
    assert result.keys == [key.decode() for key in keys]


def test_the_poison_catalogue_has_at_least_twenty_distinct_kinds() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 20
    assert len({case.error_type for case in CASES}) >= 12


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_poison_kind_is_rejected_with_its_reason_alone_and_among_valid_records(case) -> None:  # type: ignore[no-untyped-def]
    alone = classify_one(case.topic_key, case.key, case.value)
    assert [(r.position, r.error_type) for r in alone.rejections] == [(0, case.error_type)] and len(alone) == 0
    assert alone.rejections[0].error_message
    # in a batch that takes the block decoder: the poison record alone is rejected, every other record kept
    schema_name = topic_spec(case.topic_key).value_schema
    assert schema_name is not None
    events = [valid_event(schema_name, n, NOW_MS) for n in range(300)]
    keys: list[bytes | None] = [kafka_key(schema_name, e) for e in events]
    values: list[bytes | None] = [encode(schema_name, e) for e in events]
    keys.insert(150, case.key)
    values.insert(150, case.value)
    batch = classify_batch(topic_spec(case.topic_key), keys, values, [NOW_MS] * len(keys))
    assert [(r.position, r.error_type) for r in batch.rejections] == [(150, case.error_type)]
    assert len(batch) == 300 and 150 not in batch.positions
    assert batch.frame.get_column("event_id").to_list() == [e["event_id"] for e in events]


def test_event_time_bounds_are_asymmetric_around_the_broker_timestamp_and_configurable() -> None:
    assert len(gps_at(NOW_MS - 300 * DAY_MS)) == 1  # a replay of last year
    ahead = gps_at(NOW_MS + 31 * DAY_MS)
    assert ahead.rejections[0].error_type == "event_time_out_of_range" and "31.0 days after" in ahead.rejections[0].error_message
    behind = gps_at(NOW_MS - 10 * DAY_MS, max_ahead_ms=DAY_MS, max_behind_ms=7 * DAY_MS)
    assert "10.0 days before" in behind.rejections[0].error_message
    assert len(gps_at(NOW_MS - 6 * DAY_MS, max_ahead_ms=DAY_MS, max_behind_ms=7 * DAY_MS)) == 1


def test_nullable_amounts_and_values_are_valid_when_absent() -> None:
    event = valid_event("trip_event", 1, NOW_MS) | {"fare_brl": None, "route_distance_km": None, "eta_seconds": None}
    assert len(classify_one("trips", kafka_key("trip_event", event), encode("trip_event", event))) == 1


def test_points_on_the_edge_of_the_sao_paulo_box_are_valid_and_just_outside_are_not() -> None:
    inside = valid_event("gps_ping", 1, NOW_MS) | {"lat": -24.3, "lon": -46.0}
    outside = valid_event("gps_ping", 2, NOW_MS) | {"lat": -24.31, "lon": -46.0}
    assert len(classify_one("gps", b"D00001", encode("gps_ping", inside))) == 1
    assert classify_one("gps", b"D00001", encode("gps_ping", outside)).rejections[0].error_type == "invalid_coordinates"


def test_a_speed_above_the_shared_maximum_is_invalid() -> None:
    from schemas.contracts import MAX_SPEED_KMH

    fast = valid_event("gps_ping", 1, NOW_MS) | {"speed_kmh": MAX_SPEED_KMH + 1}
    rejection = classify_one("gps", b"D00001", encode("gps_ping", fast)).rejections[0]
    assert rejection.error_type == "invalid_value" and f"{MAX_SPEED_KMH:g}" in rejection.error_message
