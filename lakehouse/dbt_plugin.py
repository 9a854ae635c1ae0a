"""The dbt-duckdb plugin that keeps silver and gold in the lake as Delta tables.

dbt-duckdb calls it (profile `plugins: [{module: lakehouse.dbt_plugin, alias: lake}]`):

- `configure_connection`: when dbt opens its (in-memory) DuckDB database, every bronze, silver and
  gold Delta table that exists becomes a view `<layer>.<table>`: sources, `ref()`s and `{{ this }}`
  all read Delta; bronze is read at one snapshot for the whole invocation.
- `store`: the project's `table` and `incremental` materializations for DuckDB
  (`dbt/macros/materializations/lake.sql`) hand over the model's compiled SQL and its write config;
  the result is streamed from DuckDB as Arrow batches into the model's Delta table
  (`{lake}/{schema}/{model}`) by `lakehouse.delta_store`, and the view is re-pointed at the new version.
"""

from __future__ import annotations

import logging
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import TargetConfig

from lakehouse.delta_store import WriteSpec, store
from lakehouse.exceptions import LakehouseError
from lakehouse.lake import DuckDBLake, LakeTable, bronze_tables, lake_tables, table_uri

__all__ = ["Plugin"]

log = logging.getLogger(__name__)

ARROW_BATCH_ROWS = 122_880  # DuckDB's row-group size: batches stream without re-chunking


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


def write_spec(config: dict[str, Any]) -> WriteSpec:
    """The write config the materialization passes (strategy, key, partitions, predicates)."""
    return WriteSpec(
        strategy=config["strategy"],
        partition_by=_as_tuple(config.get("partition_by")),
        unique_key=_as_tuple(config.get("unique_key")),
        incremental_predicates=_as_tuple(config.get("incremental_predicates")),
        merge_on_match=config.get("merge_on_match") or "update",
    )


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        try:
            self.lake_uri = str(plugin_config["lake_uri"]).rstrip("/")
        except KeyError:
            raise LakehouseError("the lake plugin needs `lake_uri` in its profile config") from None
        self.storage_options: dict[str, str] = dict(plugin_config.get("storage_options") or {})
        self.lake = DuckDBLake(self.lake_uri, self.storage_options)

    def configure_connection(self, conn: Any) -> None:
        self.lake.configure(conn)
        for table in bronze_tables(self.lake_uri) + lake_tables(self.lake_uri, self.storage_options):
            self.lake.attach(conn, table)

    def store(self, target_config: TargetConfig) -> None:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        relation = target_config.relation
        config: dict[str, Any] = target_config.config
        table = LakeTable(str(relation.schema), str(relation.identifier), table_uri(self.lake_uri, str(relation.schema),
                                                                                      str(relation.identifier)))
        handle = DuckDBConnectionManager.env().handle()
        try:
            cursor = handle.cursor()
            data = cursor.sql(config["sql"]).to_arrow_reader(ARROW_BATCH_ROWS)
            outcome = store(table.uri, data, write_spec(config), storage_options=self.storage_options)
            self.lake.attach(cursor, table)
        finally:
            handle.close()
        log.info("%s: %s %d rows -> Delta version %s", table.qualified, config["strategy"], outcome.rows_in, outcome.version_after)
