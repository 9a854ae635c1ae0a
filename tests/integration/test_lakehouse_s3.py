"""An s3:// lake against a real S3-compatible server (S3Proxy, filesystem backend, loopback): the
storage options reach every reader and writer, so simulation bronze loads, silver and gold build as
Delta tables in the bucket (DuckDB engine), the quality checks and `lakehouse query` read them, an
incremental build adds the next file's events, and maintenance compacts them in place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

from core.settings import Settings, load_settings
from lakehouse.bronze.loader import write_jsonl_to_bronze
from lakehouse.build import BuildResult, build
from lakehouse.dbt_project import Engine
from lakehouse.exceptions import LakehouseError
from lakehouse.lake import lake_tables
from rideshare.cli import app
from tests.integration.lakehouse_support import SimulatedRun, simulate, write_lines
from tests.integration.s3proxy import S3ProxyServer

pytestmark = pytest.mark.integration

SILVER_EVENTS = ("trip_events", "gps_pings", "payments", "ratings", "driver_status_changes", "driver_profiles", "rider_profiles",
                 "simulation_control_events", "surge_updates")


@dataclass
class S3Lake:
    server: S3ProxyServer
    settings: Settings
    run: SimulatedRun
    first: BuildResult
    second: BuildResult


@pytest.fixture(scope="module")
def s3_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Lake]:
    root = tmp_path_factory.mktemp("s3proxy")
    server = S3ProxyServer(root).start()
    try:
        settings = load_settings(local_dir=root / "local", lake_uri=f"s3://{server.bucket}/rideshare",
                                 lake_storage_options=server.storage_options)
        run = simulate(root, seed=31, drivers=40, riders=900, hours=3)
        write_jsonl_to_bronze(settings, write_lines(root / "base.jsonl", run.base))
        first = build(settings, validate=True)
        write_jsonl_to_bronze(settings, write_lines(root / "increment.jsonl", run.increment))
        second = build(settings, validate=False)
        yield S3Lake(server, settings, run, first, second)
    finally:
        server.stop()


def test_silver_and_gold_are_delta_tables_in_the_bucket(s3_lake: S3Lake) -> None:
    tables = lake_tables(s3_lake.settings.lake_uri, s3_lake.settings.lake_storage_options)
    assert {"silver.trip_events", "gold.fct_trips", "gold.dim_driver"} <= {table.qualified for table in tables}
    for table in tables:
        assert table.uri.startswith("s3://lake/rideshare/")
        delta = DeltaTable(table.uri, storage_options=s3_lake.settings.lake_storage_options)
        assert delta.count() == s3_lake.second.counts[table.layer][table.name]
    # The objects really are in the server's store, under the bucket, not in a local folder.
    stored = s3_lake.server.data_dir / "lake" / "rideshare"
    assert (stored / "gold" / "fct_trips" / "_delta_log").is_dir() and (stored / "bronze" / "trips").is_dir()
    assert not Path("s3:").exists()


def test_the_build_reconciles_and_its_increment_lands(s3_lake: S3Lake) -> None:
    assert s3_lake.first.quality is not None and s3_lake.first.quality.success
    grown = sum(s3_lake.second.counts["silver"][name] - s3_lake.first.counts["silver"][name] for name in SILVER_EVENTS)
    assert grown == len(s3_lake.run.increment) > 0
    assert s3_lake.second.counts["gold"]["fct_trips"] == s3_lake.run.overview["completed"]


def test_query_and_maintain_commands_work_on_the_s3_lake(s3_lake: S3Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(s3_lake.settings.local_dir))
    monkeypatch.setenv("RIDESHARE_LAKE_URI", s3_lake.settings.lake_uri)
    monkeypatch.setenv("RIDESHARE_LAKE_STORAGE_OPTIONS", json.dumps(s3_lake.settings.lake_storage_options))
    result = CliRunner().invoke(app, ["lakehouse", "query", "select count(*) as completed_trips from fct_trips"])
    assert result.exit_code == 0, result.output
    assert str(s3_lake.run.overview["completed"]) in result.output
    maintained = CliRunner().invoke(app, ["lakehouse", "maintain", "--retention-hours", "0"])
    assert maintained.exit_code == 0, maintained.output
    gps = DeltaTable("s3://lake/rideshare/silver/gps_pings", storage_options=s3_lake.settings.lake_storage_options)
    assert len(gps.file_uris()) == 1 and gps.count() == s3_lake.second.counts["silver"]["gps_pings"]


def test_the_spark_engine_refuses_a_remote_lake_with_a_clear_error(s3_lake: S3Lake) -> None:
    with pytest.raises(LakehouseError, match="use --engine duckdb for a remote lake"):
        build(s3_lake.settings, engine=Engine.SPARK, validate=False)
