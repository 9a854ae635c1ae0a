"""Classify one Kafka record for bronze: a decoded event, or a dead letter with a reason.

Pure functions, no I/O. Beyond the codec's decode errors (null_value, not_single_object,
unknown_fingerprint, truncated, invalid_avro, trailing_bytes), a record is rejected when it is
semantically impossible for the platform: a schema that does not belong on the topic, a key that is
missing or disagrees with the record, coordinates outside São Paulo, an event time days away from
the broker's timestamp, negative money, out-of-range values. Classification depends only on the
record itself, so a re-delivered record is always routed to the same table (exactly-once relies on it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.catalog import TopicSpec
from schemas.codec import DecodeError, decode

__all__ = [
    "SAO_PAULO_BBOX",
    "Decoded",
    "EventTimeBounds",
    "KafkaRecord",
    "Rejected",
    "classify",
]

DAY_MS = 86_400_000


@dataclass(frozen=True)
class EventTimeBounds:
    """How far event time may be from the broker timestamp (wall clock at produce time), in ms.

    Asymmetric on purpose: a simulation replays a fixed start instant that may be months back, but a
    timestamp years away or in the far future is a unit mix-up or garbage.
    """

    max_ahead_ms: int = 30 * DAY_MS
    max_behind_ms: int = 3650 * DAY_MS


@dataclass(frozen=True)
class BoundingBox:
    min_lon: float
    max_lon: float
    min_lat: float
    max_lat: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


SAO_PAULO_BBOX = BoundingBox(min_lon=-47.2, max_lon=-46.0, min_lat=-24.3, max_lat=-23.0)
"""Generous box around the São Paulo municipality (GPS noise near the border stays inside)."""


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """One consumed Kafka record: coordinates, broker timestamp (ms) and raw key/value bytes."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Decoded:
    record: KafkaRecord
    key: str
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    record: KafkaRecord
    error_type: str
    error_message: str

    @property
    def key_text(self) -> str | None:
        """The key as text for the DLQ table (undecodable bytes shown with replacement characters)."""
        return None if self.record.key is None else self.record.key.decode("utf-8", errors="replace")


# (latitude field, longitude field) pairs per schema.
_COORDINATES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "trip_event": (("pickup_lat", "pickup_lon"), ("dropoff_lat", "dropoff_lon")),
    "gps_ping": (("lat", "lon"),),
    "driver_status": (("driver_lat", "driver_lon"),),
}

# Money is never negative; a nullable amount is checked only when present.
_AMOUNTS: Mapping[str, tuple[str, ...]] = {
    "trip_event": ("fare_estimate_brl", "fare_brl"),
    "payment": ("fare_brl", "platform_fee_brl", "driver_payout_brl"),
}


def _finite_at_least(minimum: float) -> Callable[[Any], bool]:
    return lambda value: value is None or (math.isfinite(value) and value >= minimum)


def _in_range(low: float, high: float) -> Callable[[Any], bool]:
    return lambda value: value is None or (math.isfinite(value) and low <= value <= high)


# Other per-field sanity bounds: (field, check, what the field must be).
_BOUNDS: Mapping[str, tuple[tuple[str, Callable[[Any], bool], str], ...]] = {
    "trip_event": (
        ("surge_multiplier", _finite_at_least(1.0), "a finite multiplier >= 1.0"),
        ("route_distance_km", _finite_at_least(0.0), "finite and >= 0"),
        ("route_duration_s", _finite_at_least(0.0), "finite and >= 0"),
        ("eta_seconds", _finite_at_least(0.0), "finite and >= 0"),
    ),
    "gps_ping": (
        ("speed_kmh", _in_range(0.0, 400.0), "between 0 and 400 km/h"),
        ("heading_deg", _in_range(0.0, 360.0), "between 0 and 360 degrees"),
        ("accuracy_m", _finite_at_least(0.0), "finite and >= 0"),
    ),
    "payment": (("surge_multiplier", _finite_at_least(1.0), "a finite multiplier >= 1.0"),),
    "surge_update": (
        ("surge_multiplier", _finite_at_least(1.0), "a finite multiplier >= 1.0"),
        ("previous_multiplier", _finite_at_least(1.0), "a finite multiplier >= 1.0"),
        ("demand_count", _finite_at_least(0), "a count >= 0"),
        ("supply_count", _finite_at_least(0), "a count >= 0"),
    ),
    "rating": (("stars", _in_range(1, 5), "between 1 and 5"),),
}


def _semantic_error(spec: TopicSpec, key: str, event: dict[str, Any], timestamp_ms: int,
                    bounds: EventTimeBounds) -> tuple[str, str] | None:
    """(error_type, message) of the first rule `event` breaks, or None when it is valid."""
    schema = spec.value_schema
    assert schema is not None  # bronze only classifies topics with a value schema
    if not event["event_id"]:
        return "missing_event_id", "event_id is empty"
    if spec.key_field is not None and event[spec.key_field] != key:
        return "key_mismatch", f"Kafka key {key!r} differs from the record's {spec.key_field} {event[spec.key_field]!r}"
    skew_ms = event["event_time"] - timestamp_ms
    limit_ms = bounds.max_ahead_ms if skew_ms > 0 else bounds.max_behind_ms
    if abs(skew_ms) > limit_ms:
        direction = "after" if skew_ms > 0 else "before"
        return ("event_time_out_of_range",
                f"event_time {event['event_time']} is {abs(skew_ms) / DAY_MS:.1f} days {direction} the broker timestamp "
                f"{timestamp_ms} (limit {limit_ms / DAY_MS:g} days)")
    for lat_field, lon_field in _COORDINATES.get(schema, ()):
        lat, lon = event[lat_field], event[lon_field]
        if not (math.isfinite(lat) and math.isfinite(lon)) or not SAO_PAULO_BBOX.contains(lat, lon):
            return "invalid_coordinates", f"({lat_field}, {lon_field}) = ({lat}, {lon}) is not a finite point inside São Paulo"
    for field in _AMOUNTS.get(schema, ()):
        amount = event[field]
        if amount is not None and not (math.isfinite(amount) and amount >= 0):
            return "negative_amount", f"{field} = {amount} BRL; amounts must be finite and >= 0"
    for field, check, expectation in _BOUNDS.get(schema, ()):
        if not check(event[field]):
            return "invalid_value", f"{field} = {event[field]!r}; it must be {expectation}"
    return None


def classify(record: KafkaRecord, spec: TopicSpec, *, bounds: EventTimeBounds = EventTimeBounds()) -> Decoded | Rejected:
    """Decode and validate one record of topic `spec` (which must carry a value schema)."""
    try:
        schema_name, event = decode(record.value)
    except DecodeError as exc:
        return Rejected(record, exc.reason, exc.detail)
    if schema_name != spec.value_schema:
        return Rejected(record, "wrong_topic_schema", f"a {schema_name} record on {spec.key}, which carries {spec.value_schema}")
    if not record.key:
        return Rejected(record, "missing_key", f"record has no Kafka key; {spec.key} is keyed by {spec.key_field}")
    try:
        key = record.key.decode("utf-8")
    except UnicodeDecodeError:
        return Rejected(record, "invalid_key", f"Kafka key is not UTF-8 (bytes {record.key[:16].hex()})")
    error = _semantic_error(spec, key, event, record.timestamp_ms, bounds)
    if error is not None:
        return Rejected(record, *error)
    return Decoded(record, key, event)
