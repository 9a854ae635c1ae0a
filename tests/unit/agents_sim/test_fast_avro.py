from __future__ import annotations

import pytest

from agents_sim.fast_avro import check_layout, encode_gps_ping
from schemas.codec import decode, encode

BASE = {
    "event_id": "sim-1-2a", "event_time": 1772449200123, "session_id": "sim-1", "correlation_id": "D00001-000003",
    "causation_id": None, "entity_type": "driver", "entity_id": "D00001-000003", "lat": -23.561234, "lon": -46.655678,
    "heading_deg": 271.5, "speed_kmh": 0.0, "accuracy_m": 7.3, "trip_id": None, "driver_status": "available",
}


@pytest.mark.parametrize("changes", [
    {},
    {"trip_id": "sim-1-T0000001", "driver_status": "on_trip", "causation_id": "sim-1-29"},
    {"entity_type": "rider", "entity_id": "R00001-0000042", "driver_status": None, "event_time": 0},
    {"entity_id": "São Paulo ção", "event_id": "x" * 300, "event_time": 2**62, "lat": -0.0, "speed_kmh": 1e300},
    {"event_time": -5},
])
def test_fast_gps_encoding_is_byte_identical_to_the_codec(changes: dict) -> None:
    record = {**BASE, **changes}
    data = encode_gps_ping(record)
    assert data == encode("gps_ping", record)
    assert decode(data) == ("gps_ping", record)


def test_the_schema_layout_matches_the_encoder() -> None:
    check_layout()
