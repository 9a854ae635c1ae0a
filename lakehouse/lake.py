"""The lake's layers as Delta tables, and DuckDB connections that read them.

Every layer lives in the lake: `{lake}/bronze/<table>` (the bronze writer), `{lake}/silver/<model>`
and `{lake}/gold/<model>` (dbt, on either engine). Nothing of silver or gold is stored in DuckDB: a
DuckDB connection is only a catalog of views, `<layer>.<table>`, each over the Parquet files of the
table's current Delta snapshot, read by DuckDB's Parquet reader; a remote (`s3://`) lake is read
through delta-rs's object store with the lake's storage options, so both read alike.
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from fsspec.implementations.arrow import ArrowFSWrapper

from core.settings import PROJECT_ROOT, Settings
from lakehouse.bronze.specs import BRONZE_TABLES
from lakehouse.exceptions import LakehouseError

__all__ = [
    "BRONZE",
    "MODEL_LAYERS",
    "DuckDBLake",
    "LakeTable",
    "bronze_tables",
    "lake_tables",
    "lake_uri_of",
    "model_names",
    "open_lake",
    "s3_filesystem",
    "table_uri",
]

BRONZE = "bronze"
MODEL_LAYERS = ("silver", "gold")
"""The layers dbt writes (the `+schema` of the dbt folders): every model materialized as Delta lives in one."""

MODELS_DIR = PROJECT_ROOT / "dbt" / "models"
LAKE_FS_PROTOCOL = "lakefs"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class LakeTable:
    """One Delta table of the lake: its layer (a DuckDB/Spark schema), name and URI."""

    layer: str
    name: str
    uri: str

    @property
    def qualified(self) -> str:
        return f"{self.layer}.{self.name}"


def lake_uri_of(settings: Settings) -> str:
    return settings.lake_uri.rstrip("/")


def table_uri(lake_uri: str, layer: str, name: str) -> str:
    """`{lake}/{layer}/{name}`: the same layout for a folder and an s3:// URI, for every engine."""
    return f"{lake_uri.rstrip('/')}/{layer}/{name}"


def model_names(models_dir: Path = MODELS_DIR) -> tuple[str, ...]:
    """Names of every dbt model of the project (the candidates for silver and gold tables)."""
    return tuple(sorted(path.stem for path in models_dir.rglob("*.sql")))


def bronze_tables(lake_uri: str) -> list[LakeTable]:
    return [LakeTable(BRONZE, table.table_name, table_uri(lake_uri, BRONZE, table.table_name)) for table in BRONZE_TABLES.values()]


def lake_tables(lake_uri: str, storage_options: Mapping[str, str] | None = None, *,
                layers: Iterable[str] = MODEL_LAYERS) -> list[LakeTable]:
    """The silver/gold Delta tables that exist now (a model not built yet, or a view, has none)."""
    options = dict(storage_options or {}) or None
    found = []
    for layer in layers:
        for name in model_names():
            uri = table_uri(lake_uri, layer, name)
            if DeltaTable.is_deltatable(uri, storage_options=options):
                found.append(LakeTable(layer, name, uri))
    return found


class _PositionalReadFile:
    """A read-only file over an Arrow random-access file that keeps its position per thread.

    DuckDB shares one Python file handle between its scan threads and reads a range as `seek` then
    `read`. Arrow's `read` releases the GIL before it takes the stream's position, so another thread's
    `seek` could land in between: the read returned another range's bytes, and a query failed now and
    then on "corrupt" Parquet (TProtocolException: Invalid data, snappy or string-encoding errors).
    Here every read is positional (`read_at`, safe from any thread) from where the calling thread sought.
    """

    def __init__(self, native: pa.NativeFile) -> None:
        self._native = native
        self._positions = threading.local()

    @property
    def _position(self) -> int:
        return getattr(self._positions, "offset", 0)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._native.size()}[whence]
        self._positions.offset = base + offset
        return self._positions.offset

    def tell(self) -> int:
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        start = self._position
        if size is None or size < 0:
            size = max(self._native.size() - start, 0)
        data = self._native.read_at(size, start)
        self._positions.offset = start + len(data)
        return data

    def size(self) -> int:
        return self._native.size()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._native.closed

    def close(self) -> None:
        self._native.close()

    def __enter__(self) -> _PositionalReadFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _LakeFileSystem(ArrowFSWrapper):
    """An s3:// lake's bucket (Arrow's S3 client, configured from the lake's storage options) as an
    fsspec filesystem. Registered on a DuckDB connection, it lets DuckDB's own Parquet reader read
    `lakefs://<bucket>/<key>`; no DuckDB extension (httpfs, which is not installed) is needed.
    Files open for reading as `_PositionalReadFile`s, which DuckDB's threads can share.
    """

    protocol = LAKE_FS_PROTOCOL

    @classmethod
    def _strip_protocol(cls, path: str | list[str]) -> str:  # type: ignore[override]  # fsspec passes a path or a list of them
        first = path if isinstance(path, str) else path[0]
        return first.split("://", 1)[-1]

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        if mode != "rb":
            return super()._open(path, mode, *args, **kwargs)
        return _PositionalReadFile(self.fs.open_input_file(path))


def _is_remote(lake_uri: str) -> bool:
    return "://" in lake_uri and not lake_uri.startswith("file://")


def s3_filesystem(lake_uri: str, storage_options: Mapping[str, str] | None) -> pafs.S3FileSystem:
    """Arrow's S3 client for a lake, from the delta-rs storage options (AWS_ENDPOINT_URL, keys, region)."""
    if not lake_uri.startswith(("s3://", "s3a://")):
        raise LakehouseError(f"DuckDB reads local and s3:// lakes, not {lake_uri}")
    options = {key.upper(): value for key, value in (storage_options or {}).items()}
    endpoint = options.get("AWS_ENDPOINT_URL") or options.get("AWS_ENDPOINT")
    return pafs.S3FileSystem(
        access_key=options.get("AWS_ACCESS_KEY_ID"), secret_key=options.get("AWS_SECRET_ACCESS_KEY"),
        session_token=options.get("AWS_SESSION_TOKEN"), region=options.get("AWS_REGION") or options.get("AWS_DEFAULT_REGION"),
        endpoint_override=endpoint, scheme=endpoint.split("://", 1)[0] if endpoint and "://" in endpoint else "https")


def _duckdb_types(connection: duckdb.DuckDBPyConnection, schema: pa.Schema) -> dict[str, str]:
    """DuckDB's type name for every field of an Arrow schema."""
    relation = connection.from_arrow(schema.empty_table())
    return {name: str(dtype) for name, dtype in zip(relation.columns, relation.types, strict=True)}


class DuckDBLake:
    """Attaches lake tables to DuckDB connections as views `<layer>.<name>` over their Delta snapshot.

    A view lists the Parquet files of the table's current Delta version and reads them with DuckDB's
    own Parquet reader (parallel scans, partition and row-group pruning); partition values come from
    the Hive-style paths, typed as the Delta schema says. Plain SQL views: every cursor of the
    connection sees them, and re-attaching after a commit re-points the view at the new version.
    """

    def __init__(self, lake_uri: str, storage_options: Mapping[str, str] | None = None) -> None:
        self.lake_uri = lake_uri.rstrip("/")
        self.storage_options = dict(storage_options or {}) or None

    def configure(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Make the lake's files readable on `connection` (a remote lake's object store as a filesystem)."""
        if _is_remote(self.lake_uri):
            connection.register_filesystem(_LakeFileSystem(s3_filesystem(self.lake_uri, self.storage_options)))

    def _file_path(self, uri: str) -> str:
        if not _is_remote(self.lake_uri):
            return uri.removeprefix("file://")
        return f"{LAKE_FS_PROTOCOL}://" + uri.split("://", 1)[1]

    def view_sql(self, connection: duckdb.DuckDBPyConnection, delta: DeltaTable) -> str:
        """SELECT of the table's current snapshot, columns in Delta schema order."""
        schema = pa.schema(delta.schema().to_arrow())
        types = _duckdb_types(connection, schema)
        files = [self._file_path(uri) for uri in delta.file_uris()]
        if not files:
            columns = ", ".join(f'cast(null as {types[name]}) as "{name}"' for name in schema.names)
            return f"select {columns} limit 0"
        partitions = delta.metadata().partition_columns
        file_list = "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in files) + "]"
        options = ""
        if partitions:
            hive_types = ", ".join(f"'{name}': '{types[name]}'" for name in partitions)
            options = f", hive_partitioning = true, hive_types = {{{hive_types}}}"
        else:
            options = ", hive_partitioning = false"
        columns = ", ".join(f'"{name}"' for name in schema.names)
        return f"select {columns} from read_parquet({file_list}{options})"

    def attach(self, connection: duckdb.DuckDBPyConnection, table: LakeTable) -> bool:
        """(Re)point the view `<layer>.<name>` at the table's current snapshot; False if there is no table."""
        try:
            delta = DeltaTable(table.uri, storage_options=self.storage_options)
        except TableNotFoundError:
            return False
        connection.execute(f"create schema if not exists {table.layer}")
        connection.execute(f'create or replace view {table.layer}."{table.name}" as {self.view_sql(connection, delta)}')
        return True


def open_lake(settings: Settings, *, layers: Iterable[str] = (BRONZE, *MODEL_LAYERS),
              unqualified: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view per existing lake table of `layers`.

    With `unqualified`, a table name that exists in one layer only is also a view in `main`, so
    `select * from fact_trips` works; a name in two layers must be qualified.
    """
    lake_uri = lake_uri_of(settings)
    wanted = tuple(layers)
    tables = [t for t in bronze_tables(lake_uri) if BRONZE in wanted]
    tables += lake_tables(lake_uri, settings.lake_storage_options, layers=[layer for layer in wanted if layer != BRONZE])
    connection = duckdb.connect(config={"autoinstall_known_extensions": False, "TimeZone": "UTC"})
    lake = DuckDBLake(lake_uri, settings.lake_storage_options)
    lake.configure(connection)
    attached = [table for table in tables if lake.attach(connection, table)]
    if unqualified:
        counts = Counter(table.name for table in attached)
        for table in attached:
            if counts[table.name] == 1 and _IDENTIFIER.match(table.name):
                connection.execute(f"create or replace view main.{table.name} as select * from {table.qualified}")
    return connection
