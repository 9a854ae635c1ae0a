"""The exactly-once bronze writer against real Delta tables in a temporary lake."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from core.settings import Settings, load_settings
from lakehouse.bronze import writer as writer_module
from lakehouse.bronze.exceptions import BronzeTransientError, OffsetDiscontinuityError
from lakehouse.bronze.specs import EVENT_TABLES, arrow_schema, bronze_table_uri
from lakehouse.bronze.validation import KafkaRecord
from lakehouse.bronze.writer import BronzeWriter
from schemas.catalog import topic_spec
from schemas.codec import decode, encode
from tests.unit.lakehouse.bronze_poison import kafka_key, poison_cases, valid_event

NOW_MS = int(time.time() * 1000)
TOPIC = "rideshare.gps"


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    return load_settings(lake_uri=str(tmp_path / "lake"))


def gps_records(offsets: range, *, partition: int = 0) -> list[KafkaRecord]:
    records = []
    for offset in offsets:
        event = valid_event("gps_ping", partition * 1_000_000 + offset, NOW_MS)
        records.append(KafkaRecord(TOPIC, partition, offset, NOW_MS, kafka_key("gps_ping", event), encode("gps_ping", event)))
    return records


def rows(settings: Settings, topic_key: str) -> pd.DataFrame:
    return DeltaTable(bronze_table_uri(settings, topic_key)).to_pandas()


def test_a_batch_lands_as_one_row_per_record_with_coordinates_raw_bytes_and_decoded_columns(lake: Settings) -> None:
    records = gps_records(range(100))
    result = BronzeWriter(lake, "gps", clock_us=lambda: 1_700_000_000_000_000).write(records)
    assert (result.written, result.dead_lettered, result.skipped, result.commits) == (100, 0, 0, 1)
    table = rows(lake, "gps").sort_values("kafka_offset")
    assert list(table["kafka_offset"]) == list(range(100))
    first = table.iloc[0]
    assert (first["kafka_topic"], first["kafka_partition"], first["kafka_key"]) == (TOPIC, 0, "D00001")
    assert first["raw_value"] == records[0].value
    assert first["event_id"] == decode(records[0].value)[1]["event_id"]
    assert first["kafka_timestamp"] == pd.Timestamp(NOW_MS, unit="ms", tz="UTC")
    assert first["event_time"] == pd.Timestamp(NOW_MS, unit="ms", tz="UTC")
    assert first["ingestion_time"] == pd.Timestamp(1_700_000_000_000_000, unit="us", tz="UTC")
    assert first["event_date"] == datetime.fromtimestamp(NOW_MS / 1000, UTC).date()
    assert DeltaTable(bronze_table_uri(lake, "gps")).metadata().partition_columns == ["event_date"]


def test_the_delta_table_schema_is_the_contract(lake: Settings) -> None:
    BronzeWriter(lake, "gps").write(gps_records(range(3)))
    written = DeltaTable(bronze_table_uri(lake, "gps")).schema().to_arrow()
    assert [field.name for field in written] == arrow_schema("gps").names


def test_each_commit_records_the_last_offset_of_every_partition_as_an_app_transaction(lake: Settings) -> None:
    result = BronzeWriter(lake, "gps").write(gps_records(range(0, 40), partition=0) + gps_records(range(7, 12), partition=3))
    assert result.commits == 1
    table = DeltaTable(bronze_table_uri(lake, "gps"))
    assert table.transaction_version(f"gps:{TOPIC}:0") == 39
    assert table.transaction_version(f"gps:{TOPIC}:3") == 11
    assert table.transaction_version(f"gps:{TOPIC}:1") is None


def test_a_redelivered_batch_is_skipped_without_a_commit(lake: Settings) -> None:
    records = gps_records(range(50))
    BronzeWriter(lake, "gps").write(records)
    version = DeltaTable(bronze_table_uri(lake, "gps")).version()
    result = BronzeWriter(lake, "gps").write(records)  # a restarted worker re-reads the same offsets
    assert (result.written, result.skipped, result.commits) == (0, 50, 0)
    assert DeltaTable(bronze_table_uri(lake, "gps")).version() == version
    assert len(rows(lake, "gps")) == 50


def test_an_overlapping_redelivery_writes_only_the_offsets_above_the_committed_one(lake: Settings) -> None:
    writer = BronzeWriter(lake, "gps")
    writer.write(gps_records(range(0, 100)))
    result = writer.write(gps_records(range(60, 130)))
    assert (result.written, result.skipped) == (30, 40)
    table = rows(lake, "gps")
    assert sorted(table["kafka_offset"]) == list(range(130))


def test_exact_duplicate_events_at_different_offsets_stay_separate_rows(lake: Settings) -> None:
    event = valid_event("gps_ping", 1, NOW_MS)
    value = encode("gps_ping", event)
    records = [KafkaRecord(TOPIC, 0, offset, NOW_MS, b"D00001", value) for offset in range(3)]
    assert BronzeWriter(lake, "gps").write(records).written == 3
    assert list(rows(lake, "gps")["event_id"]) == [event["event_id"]] * 3


def test_poison_goes_to_the_dlq_table_with_its_reason_while_valid_records_land(lake: Settings) -> None:
    cases = [case for case in poison_cases(NOW_MS) if case.topic_key == "trips"]
    good = valid_event("trip_event", 1, NOW_MS)
    records = [KafkaRecord("rideshare.trips", 1, offset, NOW_MS, case.key, case.value) for offset, case in enumerate(cases)]
    records.append(KafkaRecord("rideshare.trips", 1, len(cases), NOW_MS, kafka_key("trip_event", good), encode("trip_event", good)))
    result = BronzeWriter(lake, "trips").write(records)
    assert (result.written, result.dead_lettered, result.commits) == (1, len(cases), 2)
    dlq = rows(lake, "dlq").sort_values("kafka_offset")
    assert list(dlq["error_type"]) == [case.error_type for case in cases]
    assert list(dlq["raw_value"]) == [case.value for case in cases]  # null_value keeps a null
    assert dlq["error_message"].str.len().min() > 0
    assert set(dlq["kafka_topic"]) == {"rideshare.trips"}
    assert (dlq["ingestion_date"] == date.today()).all() or dlq["ingestion_date"].nunique() == 1
    assert list(rows(lake, "trips")["event_id"]) == [good["event_id"]]
    # both tables record the batch's last offset: a re-delivery skips every record of it, whatever its table
    assert DeltaTable(bronze_table_uri(lake, "dlq")).transaction_version("dlq:rideshare.trips:1") == len(cases)
    assert DeltaTable(bronze_table_uri(lake, "trips")).transaction_version("trips:rideshare.trips:1") == len(cases)


class FailingEventCommit:
    """The worker dies between the DLQ commit and the event commit of a batch (the DLQ goes first)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, writer: BronzeWriter) -> None:
        self.calls = 0
        real = writer._events_log.append

        def append(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.calls += 1
            raise OSError("killed")

        monkeypatch.setattr(writer._events_log, "append", append)
        self.real = real


def test_a_crash_between_the_dlq_commit_and_the_event_commit_is_repaired_by_redelivery(lake: Settings,
                                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    poison = next(case for case in poison_cases(NOW_MS) if case.name == "random_bytes")
    records = gps_records(range(10))
    records.insert(5, KafkaRecord(TOPIC, 0, 10, NOW_MS, b"D00001", poison.value))
    dying = BronzeWriter(lake, "gps")
    FailingEventCommit(monkeypatch, dying)
    with pytest.raises(BronzeTransientError):
        dying.write(records)
    assert list(rows(lake, "dlq")["kafka_offset"]) == [10]  # the dead letter landed, the events did not
    result = BronzeWriter(lake, "gps").write(records)
    assert (result.written, result.dead_lettered, result.skipped) == (10, 0, 1)
    assert sorted(rows(lake, "gps")["kafka_offset"]) == list(range(10))
    assert list(rows(lake, "dlq")["kafka_offset"]) == [10]


def test_an_event_far_ahead_of_its_partition_clock_is_dead_lettered_and_does_not_move_it(lake: Settings) -> None:
    records = gps_records(range(20))
    future = valid_event("gps_ping", 99, NOW_MS + 20 * 86_400_000)  # inside the 30-day broker bound: only the clock catches it
    records.insert(10, KafkaRecord(TOPIC, 0, 20, NOW_MS, kafka_key("gps_ping", future), encode("gps_ping", future)))
    result = BronzeWriter(lake, "gps").write(records)
    assert (result.written, result.error_types) == (20, {"event_time_outlier": 1})
    dlq = rows(lake, "dlq")
    assert list(dlq["kafka_offset"]) == [20] and "h ahead of partition 0's clock" in dlq["error_message"][0]
    later = valid_event("gps_ping", 100, NOW_MS + 1)
    record = KafkaRecord(TOPIC, 0, 21, NOW_MS, kafka_key("gps_ping", later), encode("gps_ping", later))
    assert BronzeWriter(lake, "gps").write([record]).written == 1  # the clock stayed where the data is


def test_routing_after_a_crash_uses_the_clock_committed_with_the_dead_letters(lake: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # the first batch of a run: its clock starts from the batch's median; a re-delivery with more records
    # behind it must route the same records the same way (the dead letters recorded the starting clock)
    records = gps_records(range(5))
    future = valid_event("gps_ping", 99, NOW_MS + 2 * 86_400_000)  # 2 days ahead: an outlier for bronze's 1-day skew
    records.append(KafkaRecord(TOPIC, 0, 5, NOW_MS, kafka_key("gps_ping", future), encode("gps_ping", future)))
    dying = BronzeWriter(lake, "gps")
    FailingEventCommit(monkeypatch, dying)
    with pytest.raises(BronzeTransientError):
        dying.write(records)
    longer = records + [KafkaRecord(TOPIC, 0, 6 + n, NOW_MS, kafka_key("gps_ping", e), encode("gps_ping", e))
                        for n, e in enumerate(valid_event("gps_ping", 200 + n, NOW_MS + 2 * 86_400_000 + n) for n in range(9))]
    result = BronzeWriter(lake, "gps").write(longer)  # this batch's median alone would have been 2 days later
    # routed as the first time, from the starting clock the dead letters recorded: offset 5 and the 9 later
    # records, 2 days ahead of it, are outliers; the median of this longer batch would have accepted them
    assert sorted(rows(lake, "dlq")["kafka_offset"]) == [5, *range(6, 15)]
    assert (result.written, result.dead_lettered) == (5, 9) and sorted(rows(lake, "gps")["kafka_offset"]) == list(range(5))


def test_events_that_no_longer_fit_the_table_are_dead_lettered_and_new_columns_are_merged(lake: Settings) -> None:
    writer = BronzeWriter(lake, "gps")
    writer.write(gps_records(range(3)))
    uri = bronze_table_uri(lake, "gps")
    narrowed = DeltaTable(uri).to_pyarrow_dataset().to_table(use_threads=False).drop(["accuracy_m"])
    write_deltalake(uri, narrowed, mode="overwrite", schema_mode="overwrite", partition_by=["event_date"])
    result = BronzeWriter(lake, "gps").write(gps_records(range(3, 6)))  # a column the table lacks: merged, nullable
    assert result.written == 3 and "accuracy_m" in DeltaTable(uri).schema().to_arrow().names
    widened = DeltaTable(uri).to_pyarrow_dataset().to_table(use_threads=False)
    widened = widened.append_column("legacy_note", pa.array(["x"] * widened.num_rows))
    write_deltalake(uri, widened, mode="overwrite", schema_mode="overwrite", partition_by=["event_date"])
    result = BronzeWriter(lake, "gps").write(gps_records(range(6, 8)))  # the rows lack a table column: permanent
    assert (result.written, result.error_types) == (0, {"delta_schema_mismatch": 2})
    assert list(rows(lake, "dlq")["error_type"]) == ["delta_schema_mismatch"] * 2


def test_a_recreated_topic_stops_bronze_until_it_is_rebased(lake: Settings) -> None:
    writer = BronzeWriter(lake, "gps")
    writer.write(gps_records(range(10)))
    writer.check_continuity(TOPIC, "topic-A", {0: 10})  # binds the table to the topic it ingests
    with pytest.raises(OffsetDiscontinuityError, match="recreated"):
        writer.check_continuity(TOPIC, "topic-B", {0: 3})
    with pytest.raises(OffsetDiscontinuityError, match="ends at offset 3"):
        writer.check_continuity(TOPIC, "topic-A", {0: 3})
    assert writer.rebase(TOPIC, "topic-B", new_generation=True, next_offsets={}) == 1
    writer.check_continuity(TOPIC, "topic-B", {0: 3})
    result = BronzeWriter(lake, "gps").write(gps_records(range(3)))  # offsets 0..2 of the new topic are new data
    assert result.written == 3 and len(rows(lake, "gps")) == 13


def test_rebasing_from_the_latest_offsets_skips_what_the_new_topic_already_holds(lake: Settings) -> None:
    writer = BronzeWriter(lake, "gps")
    writer.write(gps_records(range(10)))
    writer.rebase(TOPIC, "topic-B", new_generation=False, next_offsets={0: 20})
    assert BronzeWriter(lake, "gps").write(gps_records(range(15, 25))).written == 5


@pytest.mark.parametrize("table_exists", [False, True], ids=["first commit", "later commit"])
def test_two_writers_racing_on_the_same_partition_write_each_record_once(lake: Settings, table_exists: bool) -> None:
    if table_exists:
        BronzeWriter(lake, "gps").write(gps_records(range(0, 10)))
    first, second = BronzeWriter(lake, "gps"), BronzeWriter(lake, "gps")
    batch = gps_records(range(10, 20))
    first_plan, second_plan = first.plan(batch), second.plan(batch)  # both read the versions before either commits
    assert first.commit(first_plan).written == 10
    assert second.commit(second_plan).written == 0
    assert sorted(rows(lake, "gps")["kafka_offset"]) == list(range(0 if table_exists else 10, 20))


def test_writers_of_different_partitions_commit_side_by_side(lake: Settings) -> None:
    first, second = BronzeWriter(lake, "gps"), BronzeWriter(lake, "gps")
    first_plan = first.plan(gps_records(range(10), partition=0))
    second_plan = second.plan(gps_records(range(10), partition=1))
    assert first.commit(first_plan).written == 10
    assert second.commit(second_plan).written == 10
    assert rows(lake, "gps").groupby("kafka_partition").size().to_dict() == {0: 10, 1: 10}


@pytest.mark.parametrize("topic_key", [table.topic_key for table in EVENT_TABLES])
def test_a_valid_event_of_every_topic_round_trips_through_its_table(lake: Settings, topic_key: str) -> None:
    schema_name = topic_spec(topic_key).value_schema
    assert schema_name is not None
    event = valid_event(schema_name, 1, NOW_MS)
    record = KafkaRecord(topic_spec(topic_key).name, 0, 0, NOW_MS, kafka_key(schema_name, event), encode(schema_name, event))
    assert BronzeWriter(lake, topic_key).write([record]).written == 1
    row = rows(lake, topic_key).iloc[0]
    for name, value in event.items():
        stored = row[name]
        if arrow_schema(topic_key).field(name).type == pa.timestamp("ms", tz="UTC"):
            assert stored == pd.Timestamp(value, unit="ms", tz="UTC"), name
        elif isinstance(value, list):
            assert list(stored) == value, name
        elif value is None:
            assert stored is None or pd.isna(stored), name
        else:
            assert stored == value, name


def test_the_snapshot_is_loaded_afresh_every_so_many_versions_and_still_sees_every_commit(
        lake: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # brought up to date commit by commit, a snapshot grows with every commit it takes in (a worker's memory)
    monkeypatch.setattr(writer_module, "RELOAD_AFTER_VERSIONS", 5)
    writer = BronzeWriter(lake, "gps")
    snapshots: list[DeltaTable] = []  # kept alive: distinct objects are distinct snapshots
    for batch in range(12):
        writer.write(gps_records(range(batch * 10, batch * 10 + 10)))
        table = writer._events_log._table
        assert table is not None
        if not any(table is seen for seen in snapshots):
            snapshots.append(table)
    assert len(snapshots) >= 3
    assert writer.write(gps_records(range(110, 130))).skipped == 10  # committed offsets are seen through the reloads
    assert len(rows(lake, "gps")) == 130
