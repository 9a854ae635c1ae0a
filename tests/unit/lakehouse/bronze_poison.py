"""Valid events and the catalogue of poison records shared by bronze unit and integration tests.

Every poison case is a Kafka record (topic, key, value) that bronze must dead-letter with the stated
error type. Event times are relative to `now_ms`, because bronze checks them against the broker
timestamp (wall clock at produce time).
"""

from __future__ import annotations

import copy
import io
import math
import random
import struct
from dataclasses import dataclass
from typing import Any

import fastavro

from schemas.catalog import topic_for_schema
from schemas.codec import MAGIC, _without_logical_types, encode, registry
from tests.unit.schemas.samples import SAMPLES

DAY_MS = 86_400_000


def valid_event(schema_name: str, n: int, now_ms: int) -> dict[str, Any]:
    """A valid event of `schema_name`, unique by `n`, happening at `now_ms`."""
    event = copy.deepcopy(SAMPLES[schema_name])
    event["event_id"] = f"{schema_name}-{n:08d}"
    event["event_time"] = now_ms
    return event


def kafka_key(schema_name: str, event: dict[str, Any]) -> bytes:
    key_field = topic_for_schema(schema_name).key_field
    assert key_field is not None
    return str(event[key_field]).encode()


@dataclass(frozen=True)
class PoisonCase:
    name: str
    topic_key: str
    key: bytes | None
    value: bytes | None
    error_type: str


def _with(schema_name: str, now_ms: int, **changes: Any) -> tuple[bytes, bytes]:
    event = valid_event(schema_name, 0, now_ms) | changes
    return kafka_key(schema_name, event), encode(schema_name, event)


def _unknown_enum_index(now_ms: int) -> bytes:
    """A trip event whose event_type enum index (99) is outside the symbol list: Avro's enum is an int on the wire."""
    source = _without_logical_types(registry().schema("trip_event").source)
    for field in source["fields"]:
        if field["name"] == "event_type":
            field["type"] = "int"
    event = valid_event("trip_event", 0, now_ms) | {"event_type": 99}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(source, named_schemas={}), event)
    return registry().schema("trip_event").header + body.getvalue()


def poison_cases(now_ms: int, *, seed: int = 7) -> list[PoisonCase]:
    """Thirty-one distinct kinds of poison records spread over several topics: bytes that are not a
    record, records that do not belong, and values no real event can have (the real-time path sees
    these too: the shared classification rejects them everywhere)."""
    rng = random.Random(seed)
    trip_key, trip_value = _with("trip_event", now_ms)
    gps_key, gps_value = _with("gps_ping", now_ms)
    random_bytes = b"\x00" + rng.randbytes(63)  # never starts with the single-object magic
    unknown_fingerprint = MAGIC + struct.pack("<Q", 0x0123456789ABCDEF) + trip_value[10:]
    return [
        PoisonCase("random_bytes", "trips", trip_key, random_bytes, "not_single_object"),
        PoisonCase("empty_bytes", "trips", trip_key, b"", "not_single_object"),
        PoisonCase("json_instead_of_avro", "gps", gps_key, b'{"event_id": "x", "lat": -23.5}', "not_single_object"),
        PoisonCase("null_value", "trips", trip_key, None, "null_value"),
        PoisonCase("unknown_fingerprint", "trips", trip_key, unknown_fingerprint, "unknown_fingerprint"),
        PoisonCase("truncated_avro", "trips", trip_key, trip_value[:-12], "truncated"),
        PoisonCase("trailing_bytes", "gps", gps_key, gps_value + b"\x00\x01\x02", "trailing_bytes"),
        PoisonCase("unknown_enum_index", "trips", trip_key, _unknown_enum_index(now_ms), "invalid_avro"),
        PoisonCase("invalid_utf8_string", "trips", trip_key, trip_value[:10] + b"\x02\xff" + trip_value[12:], "invalid_avro"),
        PoisonCase("wrong_schema_for_topic", "trips", gps_key, gps_value, "wrong_topic_schema"),
        PoisonCase("missing_key", "gps", None, gps_value, "missing_key"),
        PoisonCase("empty_key", "gps", b"", gps_value, "missing_key"),
        PoisonCase("non_utf8_key", "gps", b"\xff\xfe\xfd", gps_value, "invalid_key"),
        PoisonCase("key_differs_from_record", "trips", b"trip-999", trip_value, "key_mismatch"),
        PoisonCase("empty_event_id", *_poisoned("trip_event", now_ms, event_id=""), "missing_event_id"),
        PoisonCase("absurd_coordinates", *_poisoned("gps_ping", now_ms, lat=48.8566, lon=2.3522), "invalid_coordinates"),
        PoisonCase("nan_latitude", *_poisoned("gps_ping", now_ms, lat=math.nan), "invalid_coordinates"),
        PoisonCase("infinite_longitude", *_poisoned("driver_status", now_ms, driver_lon=math.inf), "invalid_coordinates"),
        PoisonCase("far_future_event_time", *_poisoned("trip_event", now_ms, event_time=now_ms + 400 * DAY_MS),
                   "event_time_out_of_range"),
        PoisonCase("far_past_event_time", *_poisoned("gps_ping", now_ms, event_time=now_ms - 40 * 365 * DAY_MS),
                   "event_time_out_of_range"),
        PoisonCase("negative_fare", *_poisoned("payment", now_ms, fare_brl=-25.0), "negative_amount"),
        PoisonCase("stars_out_of_range", *_poisoned("rating", now_ms, stars=9), "invalid_value"),
        PoisonCase("surge_below_one", *_poisoned("surge_update", now_ms, surge_multiplier=0.2), "invalid_value"),
        PoisonCase("negative_speed", *_poisoned("gps_ping", now_ms, speed_kmh=-40.0), "invalid_value"),
        PoisonCase("speed_above_the_maximum", *_poisoned("gps_ping", now_ms, speed_kmh=300.0), "invalid_value"),
        PoisonCase("nan_speed", *_poisoned("gps_ping", now_ms, speed_kmh=math.nan), "invalid_value"),
        PoisonCase("heading_out_of_range", *_poisoned("gps_ping", now_ms, heading_deg=400.0), "invalid_value"),
        PoisonCase("negative_accuracy", *_poisoned("gps_ping", now_ms, accuracy_m=-5.0), "invalid_value"),
        PoisonCase("surge_above_the_cap", *_poisoned("surge_update", now_ms, surge_multiplier=7.5), "invalid_value"),
        PoisonCase("negative_eta", *_poisoned("trip_event", now_ms, eta_seconds=-30.0), "invalid_value"),
        PoisonCase("nan_route_distance", *_poisoned("trip_event", now_ms, route_distance_km=math.nan), "invalid_value"),
    ]


def _poisoned(schema_name: str, now_ms: int, **changes: Any) -> tuple[str, bytes, bytes]:
    key, value = _with(schema_name, now_ms, **changes)
    return topic_for_schema(schema_name).key, key, value
