"""How a model's rows are written to its Delta table (overwrite, append, MERGE), on real local Delta tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from lakehouse.delta_store import WriteSpec, store
from lakehouse.exceptions import LakehouseError

SCHEMA = pa.schema([("event_id", pa.string()), ("value", pa.int64()), ("event_date", pa.string())])
DEDUP = WriteSpec("merge", partition_by=("event_date",), unique_key=("event_id",), merge_on_match="ignore",
                  incremental_predicates=("DBT_INTERNAL_DEST.event_date = DBT_INTERNAL_SOURCE.event_date",))


def _rows(*rows: tuple[str, int, str]) -> pa.RecordBatchReader:
    table = pa.Table.from_pylist([dict(zip(SCHEMA.names, row, strict=True)) for row in rows], schema=SCHEMA)
    return pa.RecordBatchReader.from_batches(SCHEMA, table.to_batches())


def _content(uri: str) -> list[tuple]:
    frame = DeltaTable(uri).to_pandas().sort_values("event_id")
    return list(frame[["event_id", "value", "event_date"]].itertuples(index=False, name=None))


def test_overwrite_creates_a_partitioned_table_and_replaces_it_whole(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    first = store(uri, _rows(("a", 1, "d1"), ("b", 2, "d2")), WriteSpec("overwrite", partition_by=("event_date",)))
    assert (first.rows_in, first.version_before, first.version_after) == (2, None, 0)
    assert DeltaTable(uri).metadata().partition_columns == ["event_date"]
    store(uri, _rows(("c", 3, "d1")), WriteSpec("overwrite", partition_by=("event_date",)))
    assert _content(uri) == [("c", 3, "d1")]


def test_merge_with_ignore_keeps_the_first_copy_and_inserts_only_new_keys(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    store(uri, _rows(("a", 1, "d1"), ("b", 2, "d1")), DEDUP)
    outcome = store(uri, _rows(("a", 99, "d1"), ("c", 3, "d2")), DEDUP)
    assert outcome.committed and outcome.merge_metrics is not None and outcome.merge_metrics["num_target_rows_inserted"] == 1
    assert _content(uri) == [("a", 1, "d1"), ("b", 2, "d1"), ("c", 3, "d2")]


def test_merge_with_update_replaces_matched_rows(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    spec = WriteSpec("merge", unique_key=("event_id",))
    store(uri, _rows(("a", 1, "d1"), ("b", 2, "d1")), spec)
    store(uri, _rows(("a", 10, "d1"), ("c", 3, "d1")), spec)
    assert _content(uri) == [("a", 10, "d1"), ("b", 2, "d1"), ("c", 3, "d1")]


def test_an_empty_increment_or_a_merge_that_changes_nothing_commits_no_version(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    store(uri, _rows(("a", 1, "d1")), DEDUP)
    version = DeltaTable(uri).version()
    for spec, rows in ((WriteSpec("append"), _rows()), (DEDUP, _rows()), (DEDUP, _rows(("a", 1, "d1")))):
        outcome = store(uri, rows, spec)
        assert not outcome.committed, spec
    assert DeltaTable(uri).version() == version


def test_append_adds_rows(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    store(uri, _rows(("a", 1, "d1")), WriteSpec("append"))
    store(uri, _rows(("a", 1, "d1")), WriteSpec("append"))
    assert len(_content(uri)) == 2


def test_a_merge_without_a_key_is_refused() -> None:
    with pytest.raises(LakehouseError, match="unique_key"):
        WriteSpec("merge")
