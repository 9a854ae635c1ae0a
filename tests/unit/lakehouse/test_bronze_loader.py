from __future__ import annotations

import json
from pathlib import Path

import pytest
from deltalake import DeltaTable

from core.settings import Settings, load_settings
from lakehouse.bronze.exceptions import BronzeError
from lakehouse.bronze.loader import FILE_PARTITION, write_jsonl_to_bronze
from lakehouse.bronze.specs import bronze_table_uri
from lakehouse.bronze.writer import BronzeWriter
from schemas.codec import decode
from tests.unit.lakehouse.bronze_poison import DAY_MS, kafka_key, valid_event
from tests.unit.schemas.samples import T0


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    return load_settings(lake_uri=str(tmp_path / "lake"), topic_namespace="ns.")


def _write_jsonl(path: Path, events: list[tuple[str, dict]]) -> Path:
    lines = [json.dumps({"schema": schema, "key": kafka_key(schema, event).decode(), "value": event}) for schema, event in events]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_simulation_file_lands_in_the_bronze_tables_of_its_topics(lake: Settings, tmp_path: Path) -> None:
    events = [("trip_event", valid_event("trip_event", n, T0 + n)) for n in range(5)]
    events += [("gps_ping", valid_event("gps_ping", n, T0 + n)) for n in range(7)]
    events.append(("gps_ping", valid_event("gps_ping", 99, T0) | {"lat": 10.0}))  # invalid: dead-lettered
    summary = write_jsonl_to_bronze(lake, _write_jsonl(tmp_path / "run.jsonl", events), chunk_records=3)
    assert summary.lines == 13 and summary.written == {"trips": 5, "gps": 7} and summary.dead_lettered == 1
    trips = DeltaTable(bronze_table_uri(lake, "trips")).to_pandas().sort_values("kafka_offset")
    assert list(trips["kafka_offset"]) == [0, 1, 2, 3, 4]
    assert set(trips["kafka_topic"]) == {"ns.rideshare.trips"} and set(trips["kafka_partition"]) == {FILE_PARTITION}
    assert decode(trips.iloc[0]["raw_value"])[1] == events[0][1]
    gps = DeltaTable(bronze_table_uri(lake, "gps")).to_pandas()
    assert sorted(gps["kafka_offset"]) == list(range(5, 12))
    dlq = DeltaTable(bronze_table_uri(lake, "dlq")).to_pandas()
    assert list(dlq["kafka_offset"]) == [12] and list(dlq["error_type"]) == ["invalid_coordinates"]


def test_old_simulated_dates_are_valid_because_the_synthetic_broker_time_is_the_event_time(lake: Settings, tmp_path: Path) -> None:
    events = [("payment", valid_event("payment", 1, T0 - 400 * DAY_MS))]
    assert write_jsonl_to_bronze(lake, _write_jsonl(tmp_path / "old.jsonl", events)).written == {"payments": 1}


def test_loading_the_same_file_twice_writes_nothing_the_second_time(lake: Settings, tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "run.jsonl", [("rating", valid_event("rating", n, T0)) for n in range(4)])
    write_jsonl_to_bronze(lake, path)
    again = write_jsonl_to_bronze(lake, path)
    assert (again.written, again.skipped, again.commits) == ({"ratings": 0}, 4, 0)
    assert len(DeltaTable(bronze_table_uri(lake, "ratings")).to_pandas()) == 4


def test_a_second_file_lands_whole_after_the_first_and_reloading_either_writes_nothing(lake: Settings, tmp_path: Path) -> None:
    first = _write_jsonl(tmp_path / "first.jsonl", [("rating", valid_event("rating", n, T0)) for n in range(4)])
    second = _write_jsonl(tmp_path / "second.jsonl", [("rating", valid_event("rating", 10 + n, T0)) for n in range(6)])
    loaded_first = write_jsonl_to_bronze(lake, first)
    loaded_second = write_jsonl_to_bronze(lake, second)
    assert loaded_first.written == {"ratings": 4} and loaded_second.written == {"ratings": 6}
    assert loaded_second.offset_base >= 4  # above everything the first file reserved and committed
    ratings = DeltaTable(bronze_table_uri(lake, "ratings")).to_pandas()
    assert len(ratings) == 10 and ratings["kafka_offset"].is_unique
    assert sorted(ratings["event_id"]) == sorted(e["event_id"] for _, e in
                                                 [("rating", valid_event("rating", n, T0)) for n in (*range(4), *range(10, 16))])
    for path in (first, second):
        again = write_jsonl_to_bronze(lake, path)
        assert again.reused_reservation and again.total_written == 0
    assert len(DeltaTable(bronze_table_uri(lake, "ratings")).to_pandas()) == 10


def test_an_interrupted_load_resumes_with_the_same_offsets(lake: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_jsonl(tmp_path / "run.jsonl", [("rating", valid_event("rating", n, T0)) for n in range(5)])
    real_write = BronzeWriter.write
    calls = []

    def crash_on_second_commit(writer: BronzeWriter, records: list) -> object:
        calls.append(len(records))
        if len(calls) == 2:
            raise OSError("disk full")  # the process dies after the first chunk was committed
        return real_write(writer, records)

    monkeypatch.setattr(BronzeWriter, "write", crash_on_second_commit)
    with pytest.raises(OSError):
        write_jsonl_to_bronze(lake, path, chunk_records=2)
    monkeypatch.setattr(BronzeWriter, "write", real_write)
    assert len(DeltaTable(bronze_table_uri(lake, "ratings")).to_pandas()) == 2
    resumed = write_jsonl_to_bronze(lake, path, chunk_records=2)
    assert resumed.reused_reservation and (resumed.total_written, resumed.skipped) == (3, 2)
    assert sorted(DeltaTable(bronze_table_uri(lake, "ratings")).to_pandas()["kafka_offset"]) == list(range(5))


def test_a_line_that_is_not_an_event_is_reported_with_its_line_number(lake: Settings, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"schema": "rating", "key": "t", "value": {"stars": "five"}}\n')
    with pytest.raises(BronzeError, match=r"bad\.jsonl:1"):
        write_jsonl_to_bronze(lake, path)
