"""DuckDB views over Delta snapshots (`lakehouse.lake`): partitions typed as Delta says, empty tables
typed, views re-pointed after a commit, unqualified names only where unambiguous."""

from __future__ import annotations

import datetime as dt
import io
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from core.settings import load_settings
from lakehouse.lake import DuckDBLake, LakeTable, _LakeFileSystem, open_lake, table_uri
from lakehouse.parity import TableFingerprint, mismatches

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("day", pa.date32())])


def _table(lake: Path, layer: str, name: str, rows: list[dict]) -> LakeTable:
    uri = table_uri(str(lake), layer, name)
    write_deltalake(uri, pa.Table.from_pylist(rows, schema=SCHEMA), mode="append", partition_by=["day"])
    return LakeTable(layer, name, uri)


def test_a_view_reads_the_current_snapshot_with_partition_values_typed(tmp_path: Path) -> None:
    table = _table(tmp_path, "silver", "things", [{"id": 1, "name": "a", "day": dt.date(2026, 1, 1)}])
    connection = duckdb.connect()
    lake = DuckDBLake(str(tmp_path))
    assert lake.attach(connection, table)
    assert connection.execute("select id, name, day from silver.things").fetchall() == [(1, "a", dt.date(2026, 1, 1))]
    assert connection.execute("select typeof(day) from silver.things").fetchone()[0] == "DATE"
    write_deltalake(table.uri, pa.Table.from_pylist([{"id": 2, "name": "b", "day": dt.date(2026, 1, 2)}], schema=SCHEMA),
                    mode="append", partition_by=["day"])
    assert connection.execute("select count(*) from silver.things").fetchone()[0] == 1  # still the snapshot it was given
    lake.attach(connection, table)
    assert connection.execute("select count(*) from silver.things where day = date '2026-01-02'").fetchone()[0] == 1
    assert not lake.attach(connection, LakeTable("silver", "missing", str(tmp_path / "silver" / "missing")))


def test_an_empty_table_is_a_typed_empty_view(tmp_path: Path) -> None:
    uri = table_uri(str(tmp_path), "gold", "nothing")
    DeltaTable.create(uri, SCHEMA, partition_by=["day"])
    connection = duckdb.connect()
    DuckDBLake(str(tmp_path)).attach(connection, LakeTable("gold", "nothing", uri))
    assert connection.execute("select count(*) from gold.nothing").fetchone()[0] == 0
    assert [row[1] for row in connection.execute("describe gold.nothing").fetchall()] == ["BIGINT", "VARCHAR", "DATE"]


def test_open_lake_offers_unqualified_names_only_when_one_layer_has_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lakehouse.lake as lake_module

    monkeypatch.setattr(lake_module, "model_names", lambda: ("fct_x", "shared"))
    row = [{"id": 1, "name": "a", "day": dt.date(2026, 1, 1)}]
    _table(tmp_path, "gold", "fct_x", row)
    _table(tmp_path, "gold", "shared", row)
    _table(tmp_path, "silver", "shared", row * 2)
    with open_lake(load_settings(lake_uri=str(tmp_path), local_dir=tmp_path / "local")) as connection:
        assert connection.execute("select count(*) from fct_x").fetchone()[0] == 1
        assert connection.execute("select count(*) from silver.shared").fetchone()[0] == 2
        assert not connection.execute("select count(*) from duckdb_views() where schema_name = 'main' and view_name = 'shared'"
                                      ).fetchone()[0]


def test_parity_mismatches_name_every_differing_or_missing_table() -> None:
    same, other = TableFingerprint(3, 42), TableFingerprint(3, 43)
    assert mismatches({"a": same, "b": same}, {"a": same, "b": same}) == {}
    assert mismatches({"a": same, "b": same}, {"a": other}) == {"a": (same, other), "b": (same, None)}


def test_duckdb_threads_sharing_a_lake_file_read_the_bytes_they_asked_for(tmp_path: Path) -> None:
    # The remote lake's filesystem (here over local files: the same Python file objects DuckDB shares
    # between its threads). Its reads once raced and returned other ranges' bytes: corrupt pages.
    rows = 300_000
    names = pa.array([f"name-{i:08d}" for i in range(rows)])
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64()), "name": names}), tmp_path / "t.parquet",
                   row_group_size=10_000, compression="snappy")
    connection = duckdb.connect()
    connection.execute("set threads = 4")
    connection.register_filesystem(_LakeFileSystem(pafs.LocalFileSystem()))
    for _ in range(3):
        scan = connection.sql(f"select count(distinct name), sum(id) from read_parquet('lakefs://{tmp_path}/t.parquet')")
        assert scan.fetchall() == [(rows, rows * (rows - 1) // 2)]


def test_a_lake_file_keeps_each_threads_position_apart(tmp_path: Path) -> None:
    (tmp_path / "bytes").write_bytes(bytes(range(256)))
    shared = _LakeFileSystem(pafs.LocalFileSystem()).open(str(tmp_path / "bytes"), "rb")
    shared.seek(10)
    other_thread = threading.Thread(target=lambda: (shared.seek(200), shared.read(5)))
    other_thread.start()
    other_thread.join()
    assert shared.read(3) == bytes([10, 11, 12]) and shared.tell() == 13
    assert shared.seek(-2, io.SEEK_END) == 254 and shared.read() == bytes([254, 255]) and shared.read(4) == b""
