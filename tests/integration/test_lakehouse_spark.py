"""The same dbt project on Apache Spark (dbt-spark's session method, local Spark with Delta): on the
same bronze (simulation output), every gold table built by DuckDB and by Spark has the same row count
and key checksum, after a full build and after an incremental one; each engine reads the other's
Delta tables; Great Expectations checks the Spark-built tables. One Spark session for the run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from deltalake import DeltaTable

from core.settings import Settings, load_settings
from lakehouse.bronze.loader import write_jsonl_to_bronze
from lakehouse.build import BuildResult, build
from lakehouse.dbt_project import Engine
from lakehouse.lake import lake_tables
from lakehouse.parity import GOLD_KEY_COLUMNS, TableFingerprint, gold_fingerprints, mismatches
from lakehouse.spark_session import spark_session, stop_session
from tests.integration.lakehouse_support import resent, simulate, write_lines

# Four builds (two per engine) and a JVM: longer than the suite's default per-test timeout.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


@dataclass
class TwoLakes:
    duckdb: Settings
    spark: Settings
    full: tuple[BuildResult, BuildResult]
    incremental: tuple[BuildResult, BuildResult]
    full_fingerprints: tuple[dict[str, TableFingerprint], dict[str, TableFingerprint]]
    incremental_fingerprints: tuple[dict[str, TableFingerprint], dict[str, TableFingerprint]]
    increment_events: int


@pytest.fixture(scope="session")
def spark_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One Spark session (JVM + Delta jars from the Ivy cache) for every Spark test of the run."""
    spark_session(load_settings(local_dir=tmp_path_factory.mktemp("spark_session")))
    yield
    stop_session()


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory, spark_engine: None) -> TwoLakes:
    base_dir = tmp_path_factory.mktemp("lakehouse_spark")
    run = simulate(base_dir, seed=21, drivers=50, riders=1200, hours=3)
    base = write_lines(base_dir / "base.jsonl", [*run.base, *resent(run.base, ("trip_event", "payment"), every=20)])
    increment = write_lines(base_dir / "increment.jsonl", run.increment)
    on_duckdb = load_settings(local_dir=base_dir / "duckdb" / "local", lake_uri=str(base_dir / "duckdb" / "lake"))
    on_spark = load_settings(local_dir=base_dir / "spark" / "local", lake_uri=str(base_dir / "spark" / "lake"))

    def load_both(path: Path) -> None:
        write_jsonl_to_bronze(on_duckdb, path)
        shutil.rmtree(Path(on_spark.lake_uri) / "bronze", ignore_errors=True)
        shutil.copytree(Path(on_duckdb.lake_uri) / "bronze", Path(on_spark.lake_uri) / "bronze")  # the very same bronze

    load_both(base)
    # dbt's data tests run on DuckDB (the same SQL); on Spark the models are built and the GE suites check them.
    full = (build(on_duckdb, validate=False), build(on_spark, engine=Engine.SPARK, validate=True, dbt_tests=False))
    full_fingerprints = (gold_fingerprints(on_duckdb), gold_fingerprints(on_spark))
    load_both(increment)
    incremental = (build(on_duckdb, validate=False), build(on_spark, engine=Engine.SPARK, validate=False, dbt_tests=False))
    return TwoLakes(on_duckdb, on_spark, full, incremental, full_fingerprints,
                    (gold_fingerprints(on_duckdb), gold_fingerprints(on_spark)), len(run.increment))


def test_every_gold_table_has_the_same_rows_and_key_checksum_on_both_engines(lakes: TwoLakes) -> None:
    on_duckdb, on_spark = lakes.full_fingerprints
    assert set(on_duckdb) == set(GOLD_KEY_COLUMNS)
    assert mismatches(on_duckdb, on_spark) == {}
    assert on_duckdb["fct_trips"].rows > 10 and on_duckdb["fct_payments"].rows > 10 and on_duckdb["dim_driver"].rows == 50


def test_an_incremental_build_keeps_the_engines_equal_and_adds_exactly_the_new_events(lakes: TwoLakes) -> None:
    on_duckdb, on_spark = lakes.incremental_fingerprints
    assert mismatches(on_duckdb, on_spark) == {}
    assert on_duckdb["fct_trips"].rows > lakes.full_fingerprints[0]["fct_trips"].rows
    events = ("trip_events", "gps_pings", "payments", "ratings", "driver_status_changes", "driver_profiles", "rider_profiles",
              "simulation_control_events", "surge_updates")
    for full, incremental in zip(lakes.full, lakes.incremental, strict=True):
        grown = sum(incremental.counts["silver"][name] - full.counts["silver"][name] for name in events)
        assert grown == lakes.increment_events
    assert lakes.incremental[1].counts["silver"] == lakes.incremental[0].counts["silver"]
    assert all(not node.failed for result in (*lakes.full, *lakes.incremental) for node in result.nodes)
    assert len(lakes.full[0].tests) > 100 and not lakes.full[1].tests


def test_spark_wrote_its_lake_and_its_tables_are_delta_for_deltalake(lakes: TwoLakes) -> None:
    spark_tables = lake_tables(lakes.spark.lake_uri)
    assert {table.qualified for table in spark_tables} == {table.qualified for table in lake_tables(lakes.duckdb.lake_uri)}
    for table in spark_tables:
        history = DeltaTable(table.uri).history()
        assert any("Apache-Spark" in str(commit.get("engineInfo", "")) for commit in history), table.qualified


def test_spark_reads_the_delta_tables_duckdb_built(lakes: TwoLakes) -> None:
    spark = spark_session(lakes.spark)
    for table in lake_tables(lakes.duckdb.lake_uri):
        assert spark.read.format("delta").load(table.uri).count() == DeltaTable(table.uri).count(), table.qualified


def test_great_expectations_checked_the_spark_built_tables(lakes: TwoLakes) -> None:
    quality = lakes.full[1].quality
    assert quality is not None and quality.success and len(quality.outcomes) > 30
