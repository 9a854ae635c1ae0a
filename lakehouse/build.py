"""Building the lake: bronze Delta -> dbt silver and gold Delta tables -> Great Expectations checks.

These functions are what both the CLI (`rideshare lakehouse build|validate|query`) and the Airflow
DAGs call, so a scheduled run and a manual one do exactly the same work, on either engine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from core.settings import Settings
from lakehouse.bronze.specs import BRONZE_TABLES, arrow_schema, bronze_table_uri
from lakehouse.dbt_project import DbtNodeResult, Engine, run_dbt
from lakehouse.exceptions import LakehouseError, WarehouseMissingError
from lakehouse.lake import MODEL_LAYERS, lake_tables, lake_uri_of, open_lake
from lakehouse.warehouse import warehouse_paths

if TYPE_CHECKING:  # Great Expectations costs seconds to import: only `build` with validation loads it
    from lakehouse.quality.checkpoint import QualityReport

__all__ = [
    "GOLD_SELECTOR",
    "SILVER_SELECTOR",
    "BuildResult",
    "build",
    "build_layer",
    "ensure_bronze_tables",
    "generate_docs",
    "layer_counts",
    "query",
]

log = logging.getLogger(__name__)

SILVER_SELECTOR = "path:models/staging path:models/validation path:models/silver path:models/intermediate"
GOLD_SELECTOR = "path:models/marts"

NodeCallback = Callable[[str, str, int | None], None]
"""Called with (node name, status, total nodes in the run) as each dbt model or test finishes."""


@dataclass
class BuildResult:
    """What a build did: every dbt node, the row counts per layer, the quality report and timing."""

    nodes: list[DbtNodeResult] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    quality: QualityReport | None = None
    seconds: float = 0.0

    @property
    def models(self) -> list[DbtNodeResult]:
        return [node for node in self.nodes if node.resource_type == "model"]

    @property
    def tests(self) -> list[DbtNodeResult]:
        return [node for node in self.nodes if node.resource_type == "test"]


def ensure_bronze_tables(settings: Settings) -> list[str]:
    """Create an empty bronze table (contract schema) for every topic nothing was ingested from yet.

    dbt sources need every table to exist; an empty one is what the bronze writer would append to.
    Returns the names of the tables created.
    """
    created = []
    options = settings.lake_storage_options or None
    for table in BRONZE_TABLES.values():
        uri = bronze_table_uri(settings, table.topic_key)
        try:
            DeltaTable(uri, storage_options=options)
        except TableNotFoundError:
            write_deltalake(uri, arrow_schema(table.topic_key).empty_table(), mode="append",
                            partition_by=list(table.partition_by), storage_options=options)
            created.append(table.table_name)
    if created:
        log.info("created empty bronze tables (nothing ingested yet): %s", ", ".join(created))
    return created


def _progress_callback(on_node: NodeCallback | None) -> list[Any]:
    if on_node is None:
        return []

    total: list[int | None] = [None]

    def callback(event: Any) -> None:
        if event.info.name == "LogStartLine":
            total[0] = int(event.data.total)
        elif event.info.name == "NodeFinished":
            node = event.data.node_info
            on_node(node.node_name, node.node_status, total[0])

    return [callback]


def build_layer(settings: Settings, selector: str, *, engine: Engine = Engine.DUCKDB, full_refresh: bool = False,
                dbt_tests: bool = True, on_node: NodeCallback | None = None) -> list[DbtNodeResult]:
    """`dbt build` of the selected models (with their data and unit tests unless `dbt_tests` is off);
    raises DbtRunError on any failure."""
    ensure_bronze_tables(settings)
    command = ["build", "--select", *selector.split()]
    if not dbt_tests:
        command += ["--exclude", "resource_type:test", "resource_type:unit_test"]
    if full_refresh:
        command.append("--full-refresh")
    return run_dbt(settings, command, engine=engine, callbacks=_progress_callback(on_node))


def generate_docs(settings: Settings, *, engine: Engine = Engine.DUCKDB) -> str:
    """`dbt docs generate`; returns the path of the static site's index.html."""
    run_dbt(settings, ["docs", "generate"], engine=engine)
    return str(warehouse_paths(settings).target_dir / Engine(engine).value / "index.html")


def build(settings: Settings, *, engine: Engine = Engine.DUCKDB, full_refresh: bool = False, validate: bool = True,
          dbt_tests: bool = True, docs: bool = False, on_node: NodeCallback | None = None,
          on_check: Callable[[str], None] | None = None) -> BuildResult:
    """Silver and gold in one `dbt build` on `engine`, then the quality checks (which raise on any failure)."""
    started = time.perf_counter()
    result = BuildResult()
    result.nodes = build_layer(settings, f"{SILVER_SELECTOR} {GOLD_SELECTOR}", engine=engine, full_refresh=full_refresh,
                               dbt_tests=dbt_tests, on_node=on_node)
    result.counts = layer_counts(settings)
    if docs:
        generate_docs(settings, engine=engine)
    if validate:
        from lakehouse.quality.checkpoint import run_quality_checks

        result.quality = run_quality_checks(settings, on_table=on_check)
    result.seconds = time.perf_counter() - started
    return result


def _bronze_counts(settings: Settings) -> dict[str, int]:
    counts = {}
    for table in BRONZE_TABLES.values():
        try:
            delta = DeltaTable(bronze_table_uri(settings, table.topic_key), storage_options=settings.lake_storage_options or None)
        except TableNotFoundError:
            continue
        counts[table.table_name] = int(delta.count())
    return counts


def layer_counts(settings: Settings) -> dict[str, dict[str, int]]:
    """Row counts of every Delta table per layer (bronze, silver, gold), read from the lake."""
    counts: dict[str, dict[str, int]] = {"bronze": _bronze_counts(settings), **{layer: {} for layer in MODEL_LAYERS}}
    for table in lake_tables(lake_uri_of(settings), settings.lake_storage_options):
        counts[table.layer][table.name] = int(DeltaTable(table.uri, storage_options=settings.lake_storage_options or None).count())
    return counts


def query(settings: Settings, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run SQL over the lake's Delta tables (`gold.fact`, or just `fact` where the name is unambiguous).

    Reads whatever engine built the tables; nothing is written.
    """
    if not lake_tables(lake_uri_of(settings), settings.lake_storage_options):
        raise WarehouseMissingError(f"no silver or gold tables in {settings.lake_uri}: run `rideshare lakehouse build` first")
    with open_lake(settings) as connection:
        try:
            cursor = connection.execute(sql)
        except duckdb.Error as exc:
            raise LakehouseError(f"query failed: {exc}\n"
                                 "Tables live in schemas bronze, silver and gold (`rideshare lakehouse query --list`), "
                                 "e.g. `select * from gold.fct_trips limit 5` or `select * from fct_trips limit 5`") from exc
        columns = [description[0] for description in cursor.description or []]
        return columns, cursor.fetchall()
