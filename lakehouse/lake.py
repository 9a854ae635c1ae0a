"""The lake's layers as Delta tables, and DuckDB connections that read them.

Every layer lives in the lake: `{lake}/bronze/<table>` (the bronze writer), `{lake}/silver/<model>`
and `{lake}/gold/<model>` (dbt, on either engine). Nothing of silver or gold is stored in DuckDB: a
DuckDB connection is only a catalog of views, `<layer>.<table>`, each over the Arrow dataset of the
table's current Delta snapshot (read by delta-rs with the lake's storage options, so a local folder
and an `s3://` lake read alike; DuckDB pushes filters and projections into the dataset scan).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from core.settings import PROJECT_ROOT, Settings
from lakehouse.bronze.specs import BRONZE_TABLES

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
    "table_uri",
]

BRONZE = "bronze"
MODEL_LAYERS = ("silver", "gold")
"""The layers dbt writes (the `+schema` of the dbt folders): every model materialized as Delta lives in one."""

MODELS_DIR = PROJECT_ROOT / "dbt" / "models"
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


class DuckDBLake:
    """Registers lake tables on DuckDB connections as views `<layer>.<name>` over Arrow datasets.

    A registration is per connection (a DuckDB cursor does not see its parent's), and its name carries
    the Delta version, so re-pointing a view at a newer snapshot never breaks a connection that still
    holds the old one: `attach` registers on every connection handed to `add_connection` before.
    """

    def __init__(self, storage_options: Mapping[str, str] | None = None) -> None:
        self.storage_options = dict(storage_options or {}) or None
        self.datasets: dict[str, ds.Dataset] = {}
        self._connections: list[duckdb.DuckDBPyConnection] = []

    def reset(self) -> None:
        self.datasets.clear()
        self._connections.clear()

    def add_connection(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Register every dataset attached so far on `connection` and keep it for later attaches."""
        for name, dataset in self.datasets.items():
            connection.register(name, dataset)
        self._connections.append(connection)

    def attach(self, connection: duckdb.DuckDBPyConnection, table: LakeTable) -> bool:
        """(Re)point the view `<layer>.<name>` at the table's current snapshot; False if there is no table."""
        try:
            delta = DeltaTable(table.uri, storage_options=self.storage_options)
        except TableNotFoundError:
            return False
        dataset_name = f"lake__{table.layer}__{table.name}__v{delta.version()}"
        if dataset_name not in self.datasets:
            self.datasets[dataset_name] = delta.to_pyarrow_dataset()
            for other in list(self._connections):
                try:
                    other.register(dataset_name, self.datasets[dataset_name])
                except duckdb.ConnectionException:  # closed since: nothing to keep current
                    self._connections.remove(other)
        connection.register(dataset_name, self.datasets[dataset_name])
        connection.execute(f"create schema if not exists {table.layer}")
        connection.execute(f'create or replace view {table.layer}."{table.name}" as select * from "{dataset_name}"')
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
    lake = DuckDBLake(settings.lake_storage_options)
    attached = [table for table in tables if lake.attach(connection, table)]
    if unqualified:
        counts = Counter(table.name for table in attached)
        for table in attached:
            if counts[table.name] == 1 and _IDENTIFIER.match(table.name):
                connection.execute(f"create or replace view main.{table.name} as select * from {table.qualified}")
    return connection


def attached_tables(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(layer, table) of every lake view on a connection made by `open_lake`, sorted."""
    rows = connection.execute(
        "select schema_name, view_name from duckdb_views() where not internal and schema_name <> 'main' "
        "order by schema_name, view_name").fetchall()
    return [(str(schema), str(name)) for schema, name in rows]
