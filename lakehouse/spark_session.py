"""The local Spark session the `spark` engine runs dbt on: pyspark + delta-spark, local[2].

The Delta jars come from Maven Central through Ivy into the project's `.local/ivy` the first time (`make
setup-spark` does it at install time), so later sessions start from the cache. One session per
process (a JVM costs seconds to start); before each dbt command the session's in-memory catalog is
rebuilt from the lake: every existing bronze, silver and gold Delta table is registered as an
external table `<layer>.<name>` at its location, so dbt-spark sees sources, refs and incremental
targets exactly as they are in the lake.

The lake must be a local folder for this engine (S3 needs Hadoop's s3a jars, not installed here).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.settings import PROJECT_ROOT, Settings
from lakehouse.exceptions import LakehouseError
from lakehouse.lake import BRONZE, MODEL_LAYERS, bronze_tables, lake_tables, lake_uri_of

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["IVY_DIR", "prepare_session", "register_lake", "spark_session", "stop_session"]

log = logging.getLogger(__name__)

CATALOG_SCHEMAS = (BRONZE, "staging", *MODEL_LAYERS)
IVY_DIR = PROJECT_ROOT / ".local" / "ivy"
"""The Delta jars' Ivy cache: installed once per checkout (`make setup-spark`), shared by every lake."""


def spark_session(settings: Settings) -> SparkSession:
    """The process's Spark session with Delta, created on first use (local[2], UTC, small shuffles)."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    from lakehouse.warehouse import warehouse_paths

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    spark_dir = warehouse_paths(settings).spark_dir
    builder = (
        SparkSession.builder.master("local[2]").appName("rideshare-lakehouse")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.catalogImplementation", "in-memory")  # the lake is the catalog: no Hive metastore
        .config("spark.sql.warehouse.dir", str(spark_dir / "warehouse"))
        .config("spark.jars.ivy", str(IVY_DIR))
        .config("spark.driver.memory", "3g")
        .config("spark.local.dir", str(spark_dir / "tmp"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")  # 2 cores: the default 200 tasks per shuffle is pure overhead
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    session = configure_spark_with_delta_pip(builder).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _require_local_lake(settings: Settings) -> str:
    lake_uri = lake_uri_of(settings)
    if "://" in lake_uri and not lake_uri.startswith("file://"):
        raise LakehouseError(f"the spark engine builds a local lake only, not {lake_uri} (Hadoop's s3a jars are not installed); "
                             "use --engine duckdb for a remote lake")
    return lake_uri


def register_lake(session: SparkSession, settings: Settings) -> int:
    """Rebuild the session catalog from the lake: every existing Delta table as `<layer>.<name>`."""
    lake_uri = _require_local_lake(settings)
    for schema in CATALOG_SCHEMAS:
        session.sql(f"drop database if exists {schema} cascade")  # external tables: the Delta files stay
        session.sql(f"create database {schema}")
    from deltalake import DeltaTable

    registered = 0
    for table in bronze_tables(lake_uri) + lake_tables(lake_uri, settings.lake_storage_options):
        if DeltaTable.is_deltatable(table.uri):
            session.sql(f"create table {table.qualified} using delta location '{table.uri}'")
            registered += 1
    log.info("spark catalog: %d lake tables registered", registered)
    return registered


def prepare_session(settings: Settings) -> SparkSession:
    """The session, its catalog rebuilt from `settings`' lake (checked to be local before a JVM starts)."""
    _require_local_lake(settings)
    session = spark_session(settings)
    register_lake(session, settings)
    return session


def stop_session() -> None:
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def main() -> None:
    """Resolve the Delta jars into the Ivy cache by starting (and stopping) a session: `make setup-spark`."""
    from core.settings import load_settings

    session = spark_session(load_settings())
    print(f"Spark {session.version} with Delta ready (Ivy cache {IVY_DIR})")
    stop_session()


if __name__ == "__main__":
    main()
