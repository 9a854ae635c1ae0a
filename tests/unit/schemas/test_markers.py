from __future__ import annotations

from schemas.markers import MARKER_HEADER, StepMarker, parse_marker


def test_a_marker_round_trips_through_its_headers() -> None:
    marker = StepMarker("sim-7", 1_772_449_260_000)
    assert parse_marker(marker.headers()) == marker


def test_ordinary_and_malformed_headers_are_not_markers() -> None:
    assert parse_marker(None) is None
    assert parse_marker([("event_type", b"gps_ping")]) is None
    assert parse_marker([(MARKER_HEADER, b"step"), ("session_id", b"s")]) is None  # no step end
    assert parse_marker([(MARKER_HEADER, b"step"), ("session_id", b"s"), ("step_end_ms", b"soon")]) is None
    assert parse_marker([(MARKER_HEADER, b"other"), ("session_id", b"s"), ("step_end_ms", b"1")]) is None
