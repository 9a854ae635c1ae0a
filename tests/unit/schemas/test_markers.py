from __future__ import annotations

from schemas.markers import MARKER_HEADER, RUN_HEADER, StepMarker, parse_marker, run_id_of, run_key, run_keys


def test_a_marker_round_trips_through_its_headers() -> None:
    marker = StepMarker("sim-7", 1_772_449_260_000)
    assert parse_marker(marker.headers()) == marker


def test_ordinary_and_malformed_headers_are_not_markers() -> None:
    assert parse_marker(None) is None
    assert parse_marker([("event_type", b"gps_ping")]) is None
    assert parse_marker([(MARKER_HEADER, b"step"), ("session_id", b"s")]) is None  # no step end
    assert parse_marker([(MARKER_HEADER, b"step"), ("session_id", b"s"), ("step_end_ms", b"soon")]) is None
    assert parse_marker([(MARKER_HEADER, b"other"), ("session_id", b"s"), ("step_end_ms", b"1")]) is None


def test_run_keys_of_a_batch_are_each_records_session_and_run() -> None:
    produced = (("event_type", b"gps_ping"), ("produced_at_ms", b"1"), (RUN_HEADER, b"r1"))  # the producer's order
    elsewhere = ((RUN_HEADER, b"r2"), ("event_type", b"trip_requested"))  # run header not last: still found
    no_value = (("event_type", b"x"), (RUN_HEADER, None))
    sessions = ["s", "s", "t", "s", "s", "s"]
    headers = [produced, produced, produced, elsewhere, no_value, ()]
    assert run_keys(sessions, headers) == ["s/r1", "s/r1", "t/r1", "s/r2", "s", "s"]
    assert run_keys(sessions, headers) == [run_key(session, run_id_of(h)) for session, h in zip(sessions, headers, strict=True)]
