from __future__ import annotations

import json
from pathlib import Path

from agents_sim.sinks import JsonlSink, ListSink, NullSink

PING = {
    "event_id": "sim-1-2a", "event_time": 1772449200123, "session_id": "sim-1", "correlation_id": "D00001-000003",
    "causation_id": None, "entity_type": "driver", "entity_id": "D00001-000003", "lat": -23.561234, "lon": -46.655678,
    "heading_deg": 271.5, "speed_kmh": 0.0, "accuracy_m": 7.3, "trip_id": None, "driver_status": "available",
}
RATING = {"event_id": "sim-1-2b", "event_time": 1772449200999, "session_id": "sim-1", "correlation_id": "T1", "causation_id": "sim-1-2a",
          "rating_id": "T1-r", "trip_id": "T1", "rater_type": "rider", "rater_id": "R1", "ratee_id": "D1", "stars": 5}


def _generic(schema: str, key: str | None, record: dict) -> str:
    return json.dumps({"schema": schema, "key": key, "value": record}, ensure_ascii=False, separators=(",", ":"))


def test_jsonl_lines_have_the_contract_format(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "e.jsonl")
    sink.emit("rating", RATING)
    sink.emit("gps_ping", PING)
    sink.emit("gps_ping", {**PING, "trip_id": "sim-1-T0000001", "entity_id": "São \"x\"", "speed_kmh": 31.2, "causation_id": "c"})
    sink.close()
    lines = (tmp_path / "e.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines[0] == _generic("rating", "T1", RATING)
    # the fast gps path is byte-identical to json.dumps, escaping and unicode included
    assert lines[1] == _generic("gps_ping", PING["entity_id"], PING)
    odd = {**PING, "trip_id": "sim-1-T0000001", "entity_id": "São \"x\"", "speed_kmh": 31.2, "causation_id": "c"}
    assert lines[2] == _generic("gps_ping", odd["entity_id"], odd)
    assert list(json.loads(lines[1])["value"]) == list(PING)
    assert sink.count == 3


def test_list_and_null_sinks() -> None:
    listed, null = ListSink(), NullSink()
    for sink in (listed, null):
        sink.emit("rating", RATING)
        sink.flush()
        sink.close()
    assert listed.of("rating") == [RATING] and null.count == 1
