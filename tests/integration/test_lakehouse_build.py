"""`lakehouse build` on DuckDB over bronze made by the real simulation (JSONL sink -> the bronze
writer): every silver and gold model is a Delta table in the lake; dbt (every test), Great
Expectations. Built three times: two simulated hours (with re-sent events), then one more hour
loaded as a second file, then again with nothing new."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

from core.settings import Settings, load_settings
from lakehouse.bronze.loader import LoadSummary, write_jsonl_to_bronze
from lakehouse.bronze.specs import bronze_table_uri
from lakehouse.build import BuildResult, build, generate_docs, layer_counts
from lakehouse.lake import MODEL_LAYERS, lake_tables, model_names, open_lake, table_uri
from rideshare.cli import app
from tests.integration.lakehouse_support import HOUR_MS, SimulatedRun, profile_change, resent, simulate, write_lines

pytestmark = pytest.mark.integration

INCREMENTAL_MODELS = ("trip_events", "gps_pings", "payments", "ratings", "driver_status_changes", "driver_profiles",
                      "rider_profiles", "quarantine_trip_events", "dim_driver", "dim_rider")


@dataclass
class Lake:
    settings: Settings
    run: SimulatedRun
    first: BuildResult
    second: BuildResult
    third: BuildResult
    base_load: LoadSummary
    increment_load: LoadSummary
    resent_lines: int
    change_ms: int
    changed_driver: str
    noop_driver: str
    versions_after_second: dict[str, int]
    versions_after_third: dict[str, int]
    contents_after_second: dict[str, Any]
    contents_after_third: dict[str, Any]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with open_lake(self.settings) as connection:
            return connection.execute(sql).fetchall()

    def one(self, sql: str) -> Any:
        return self.rows(sql)[0][0]


def _versions(settings: Settings) -> dict[str, int]:
    return {table.qualified: DeltaTable(table.uri).version() for table in lake_tables(settings.lake_uri)}


def _contents(settings: Settings) -> dict[str, Any]:
    """Row count and an order-independent hash of every row of every lake table."""
    with open_lake(settings, layers=MODEL_LAYERS, unqualified=False) as connection:
        return {table.qualified: connection.execute(
            f"select count(*), coalesce(sum(hash(t)), 0) from {table.qualified} as t").fetchall()[0]
            for table in lake_tables(settings.lake_uri)}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    base_dir = tmp_path_factory.mktemp("lakehouse_build")
    settings = load_settings(local_dir=base_dir / "local", lake_uri=str(base_dir / "lake"))
    run = simulate(base_dir, seed=11, drivers=80, riders=2000, hours=3)
    start_ms = run.config.start_ms
    change_ms = start_ms + 2 * HOUR_MS + 30 * 60_000  # inside the increment hour
    drivers = sorted({json.loads(line)["value"]["driver_id"] for line in run.base if json.loads(line)["schema"] == "driver_profile"})
    changed_driver, noop_driver = drivers[2], drivers[3]
    resent_lines = resent(run.base, ("trip_event", "payment"), every=25)
    base_lines = [*run.base, profile_change(run.base, noop_driver, start_ms + 20 * 60_000), *resent_lines]
    increment_lines = [*run.increment, profile_change(run.base, changed_driver, change_ms, vehicle_color="Rosa Choque")]

    base_load = write_jsonl_to_bronze(settings, write_lines(base_dir / "base.jsonl", base_lines))
    first = build(settings, validate=False)
    increment_load = write_jsonl_to_bronze(settings, write_lines(base_dir / "increment.jsonl", increment_lines))
    second = build(settings, validate=True)
    versions, contents = _versions(settings), _contents(settings)
    third = build(settings, validate=False)
    return Lake(settings, run, first, second, third, base_load, increment_load, len(resent_lines), change_ms, changed_driver,
                noop_driver, versions, _versions(settings), contents, _contents(settings))


def test_every_silver_and_gold_model_is_a_delta_table_readable_by_deltalake(lake: Lake) -> None:
    tables = {table.qualified: table for table in lake_tables(lake.settings.lake_uri)}
    assert {"silver.trip_events", "silver.gps_pings", "silver.quarantine_trip_events", "gold.fct_trips", "gold.dim_driver",
            "gold.agg_daily_platform_revenue"} <= set(tables)
    views = {name for name in model_names() if name.startswith(("stg_", "int_")) and name.endswith(("_validated",))}
    assert views and not views & {table.name for table in tables.values()}  # staging/validation stay views, not copies
    for qualified, table in tables.items():
        assert table.uri == table_uri(lake.settings.lake_uri, table.layer, table.name)
        delta = DeltaTable(table.uri)
        assert delta.count() == lake.second.counts[table.layer][table.name], qualified
    trips = DeltaTable(tables["silver.trip_events"].uri)
    assert trips.metadata().partition_columns == ["event_date"]
    assert DeltaTable(tables["gold.fct_trips"].uri).metadata().partition_columns == ["completed_date_key"]
    assert Path(lake.settings.lake_uri, "silver", "gps_pings", "_delta_log").is_dir()


def test_gold_reconciles_exactly_with_the_simulation_summary(lake: Lake) -> None:
    overview = lake.run.overview
    assert overview["completed"] > 20, "the run must complete trips for the reconciliation to mean anything"
    assert lake.one("select count(*) from gold.fct_trips") == overview["completed"]
    assert lake.one("select count(*) from fct_payments") == lake.run.by_schema["payment"]  # unqualified: one layer has it
    assert lake.one("select round(sum(fare_brl), 2) from gold.fct_trips") == lake.run.revenue_brl
    assert lake.one("select count(*) from gold.fct_cancellations") == overview["cancelled"] + overview["no_drivers_available"]
    assert lake.one("select sum(requested_trips) from gold.agg_hourly_zone_demand") == overview["requests"]
    assert lake.one("select count(distinct driver_id) from gold.dim_driver") == lake.run.config.drivers


def test_the_second_file_lands_whole_in_bronze_and_silver_adds_exactly_its_events(lake: Lake) -> None:
    increment_events = len(lake.run.increment) + 1
    assert lake.increment_load.total_written == increment_events and lake.increment_load.skipped == 0
    assert lake.increment_load.offset_base >= lake.base_load.lines
    bronze_growth = sum(lake.second.counts["bronze"].values()) - sum(lake.first.counts["bronze"].values())
    assert bronze_growth == increment_events
    silver_growth = sum(lake.second.counts["silver"][name] - lake.first.counts["silver"][name]
                        for name in ("trip_events", "gps_pings", "payments", "ratings", "driver_status_changes", "driver_profiles",
                                     "rider_profiles", "simulation_control_events", "surge_updates"))
    assert silver_growth == increment_events  # every new event is new in silver: none is a re-send
    new_trips = sum(1 for line in lake.run.increment if json.loads(line)["schema"] == "trip_event")
    assert new_trips > 0
    assert lake.second.counts["silver"]["trip_events"] - lake.first.counts["silver"]["trip_events"] == new_trips
    assert all(not node.failed for node in lake.first.nodes + lake.second.nodes + lake.third.nodes)
    assert len(lake.second.tests) > 100  # every model carries dbt tests (keys, relationships, SCD2, revenue, unit tests)


def test_silver_merges_away_re_sent_events(lake: Lake) -> None:
    bronze = lake.first.counts["bronze"]
    assert bronze["trips"] + bronze["payments"] == lake.first.counts["silver"]["trip_events"] + \
        lake.first.counts["silver"]["payments"] + lake.resent_lines
    assert lake.one("select count(*) - count(distinct event_id) from silver.trip_events") == 0
    resent_from = lake.base_load.offset_base + len(lake.run.base) + 1  # the re-sent copies end the base file
    kept_resends = lake.one(f"select count(*) from silver.trip_events where kafka_offset between {resent_from} "
                            f"and {lake.increment_load.offset_base - 1}")
    assert kept_resends == 0  # the copy bronze received first is the one silver keeps


def test_building_again_with_nothing_new_changes_no_incremental_table_and_no_row(lake: Lake) -> None:
    for name in INCREMENTAL_MODELS:
        qualified = f"{'gold' if name.startswith('dim_') else 'silver'}.{name}"
        assert lake.versions_after_third[qualified] == lake.versions_after_second[qualified], qualified
    assert lake.contents_after_third == lake.contents_after_second
    assert lake.third.counts == lake.second.counts


def test_a_profile_change_makes_exactly_one_new_version_and_a_noop_update_none(lake: Lake) -> None:
    versions = lake.rows(f"""
        select version_number, vehicle_color, valid_from, valid_to, is_current from gold.dim_driver
        where driver_id = '{lake.changed_driver}' order by version_number""")
    assert len(versions) == 2
    (_, old_colour, _, old_to, old_current), (_, new_colour, new_from, new_to, new_current) = versions
    assert new_colour == "Rosa Choque" and old_colour != "Rosa Choque"
    assert old_to == new_from and int(new_from.timestamp() * 1000) == lake.change_ms
    assert (old_current, new_current, new_to) == (False, True, None)
    assert lake.one(f"select count(*) from gold.dim_driver where driver_id = '{lake.noop_driver}'") == 1
    # The change arrived in the incremental build: the MERGE closed the old version and added one.
    assert lake.second.counts["gold"]["dim_driver"] == lake.first.counts["gold"]["dim_driver"] + 1


def test_facts_join_the_driver_version_valid_at_their_event_time(lake: Lake) -> None:
    mismatched = lake.one("""
        select count(*) from gold.fct_payments p join gold.dim_driver d using (driver_version_key)
        where not (p.paid_at >= d.valid_from and (d.valid_to is null or p.paid_at < d.valid_to))""")
    assert mismatched == 0
    assert lake.one("select count(*) from gold.fct_trips where driver_version_key is null") == 0


def test_quality_checks_pass_on_the_delta_tables(lake: Lake) -> None:
    quality = lake.second.quality
    assert quality is not None and quality.success and len(quality.outcomes) > 30
    assert quality.data_docs_index is not None and quality.data_docs_index.exists()


def test_dbt_docs_generate_writes_the_static_site(lake: Lake) -> None:
    index = Path(generate_docs(lake.settings))
    assert index.exists()
    assert (index.parent / "catalog.json").stat().st_size > 10_000


def test_query_command_reads_delta_gold_by_qualified_or_unqualified_names_and_lists_tables(
        lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(lake.settings.local_dir))
    monkeypatch.setenv("RIDESHARE_LAKE_URI", lake.settings.lake_uri)
    completed = str(lake.run.overview["completed"])
    for sql in ("select count(*) as completed from gold.fct_trips", "select count(*) as completed from fct_trips"):
        result = CliRunner().invoke(app, ["lakehouse", "query", sql])
        assert result.exit_code == 0, result.output
        assert "completed" in result.output and completed in result.output
    listed = CliRunner().invoke(app, ["lakehouse", "query", "--list"])
    assert listed.exit_code == 0, listed.output
    assert "fct_trips" in listed.output and "trip_events" in listed.output and "bronze" in listed.output
    bad = CliRunner().invoke(app, ["lakehouse", "query", "select * from gold.no_such_table"])
    assert bad.exit_code == 1 and "--list" in bad.output


def test_build_and_maintain_commands_keep_every_row(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(lake.settings.local_dir))
    monkeypatch.setenv("RIDESHARE_LAKE_URI", lake.settings.lake_uri)
    built = CliRunner().invoke(app, ["lakehouse", "build", "--no-validate"])  # nothing new: an incremental no-op
    assert built.exit_code == 0, built.output
    assert "Rows per layer" in built.output and "fct_trips" in built.output and "on duckdb" in built.output
    assert layer_counts(lake.settings) == lake.second.counts

    silver_gps = table_uri(lake.settings.lake_uri, "silver", "gps_pings")
    assert len(DeltaTable(bronze_table_uri(lake.settings, "gps")).file_uris()) > 1
    assert len(DeltaTable(silver_gps).file_uris()) > 1  # the base build's files plus the increment's
    maintained = CliRunner().invoke(app, ["lakehouse", "maintain", "--retention-hours", "0"])
    assert maintained.exit_code == 0, maintained.output
    assert "Delta maintenance" in maintained.output
    assert len(DeltaTable(silver_gps).file_uris()) == 1  # silver is compacted too (one event_date partition)
    assert layer_counts(lake.settings) == lake.second.counts
