"""`lakehouse build` on real bronze Delta tables (written through the exactly-once bronze writer):
real dbt (silver, SCD2 gold, every dbt test), real Great Expectations, the warehouse shared by the
tests of this module. Built twice: two hours first, then one more hour incrementally."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

from core.settings import Settings, load_settings
from lakehouse.bronze.specs import bronze_table_uri
from lakehouse.build import BuildResult, build, generate_docs, layer_counts
from lakehouse.dbt_project import warehouse_paths
from lakehouse.sample_bronze import SampleSummary, SampleWorld, write_events_to_bronze
from rideshare.cli import app

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000
START_MS = 1_767_261_600_000  # 2026-01-01T10:00:00Z
CHANGED_DRIVER = "D00003"
NOOP_DRIVER = "D00004"
CHANGE_MS = START_MS + HOUR_MS + 30 * 60_000


@dataclass
class Warehouse:
    settings: Settings
    summary: SampleSummary
    first: BuildResult
    second: BuildResult
    first_silver_trip_events: int
    resent: int
    event_ids: set[str]
    third_hour_trip_events: int

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(warehouse_paths(self.settings).duckdb_file), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def one(self, sql: str) -> Any:
        return self.rows(sql)[0][0]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    base = tmp_path_factory.mktemp("lakehouse_build")
    settings = load_settings(local_dir=base / "local", lake_uri=str(base / "lake"))
    world = SampleWorld(seed=11, drivers=8, riders=30, trips_per_hour=50)
    summary = SampleSummary()
    events = world.profiles(START_MS)
    for hour in range(2):
        hour_events, hour_summary = world.hour(START_MS + hour * HOUR_MS)
        events += hour_events
        summary.add(hour_summary)
    # A real change (new vehicle colour) and a no-op update that re-sends identical attributes.
    events.append(world.driver_profile_change(CHANGED_DRIVER, CHANGE_MS, vehicle_color="red"))
    events.append(world.driver_profile_change(NOOP_DRIVER, START_MS + 20 * 60_000))
    # Re-sent events: the same records produced again land in bronze at new offsets.
    resent = [event for event in events if event[0] in ("trip_event", "payment")][::25]
    offsets = write_events_to_bronze(settings, events + resent)
    first = build(settings, validate=False)
    first_silver = first.counts["silver"]["stg_bronze__trip_events"]

    third_hour, third_summary = world.hour(START_MS + 2 * HOUR_MS)
    summary.add(third_summary)
    write_events_to_bronze(settings, third_hour, offsets=offsets)
    second = build(settings, validate=True)
    ids = {record["event_id"] for _, record in events + third_hour}
    third_hour_trips = sum(1 for schema, _ in third_hour if schema == "trip_event")
    return Warehouse(settings, summary, first, second, first_silver, len(resent), ids, third_hour_trips)


def test_gold_reconciles_exactly_with_what_the_world_emitted(warehouse: Warehouse) -> None:
    summary = warehouse.summary
    assert warehouse.one("select count(*) from gold.fact_trips") == summary.completed_trips
    assert warehouse.one("select count(*) from gold.fact_payments where status = 'captured'") == summary.captured_payments
    assert warehouse.one("select round(sum(gross_fare_brl), 2) from gold.agg_daily_platform_revenue") == round(summary.revenue_brl, 2)
    assert warehouse.one("select count(*) from gold.fact_cancellations") == summary.cancelled_trips
    assert warehouse.one("select sum(requested_trips) from gold.agg_hourly_zone_demand") == summary.requested_trips


def test_silver_removes_resent_events_by_event_id(warehouse: Warehouse) -> None:
    bronze = warehouse.second.counts["bronze"]
    silver = warehouse.second.counts["silver"]
    bronze_events = sum(bronze[t] for t in ("trips", "payments", "gps", "driver_status", "surge", "ratings",
                                            "driver_profiles", "rider_profiles", "sim_control"))
    silver_events = sum(silver[f"stg_bronze__{t}"] for t in ("trip_events", "payments", "gps_pings", "driver_status_changes",
                                                             "surge_updates", "ratings", "driver_profiles", "rider_profiles",
                                                             "simulation_control"))
    assert bronze_events == len(warehouse.event_ids) + warehouse.resent
    assert silver_events == len(warehouse.event_ids)
    assert warehouse.one("select count(*) - count(distinct event_id) from silver.stg_bronze__trip_events") == 0


def test_incremental_build_adds_only_the_new_hour(warehouse: Warehouse) -> None:
    assert warehouse.third_hour_trip_events > 0
    assert (warehouse.second.counts["silver"]["stg_bronze__trip_events"]
            == warehouse.first_silver_trip_events + warehouse.third_hour_trip_events)
    assert all(not node.failed for node in warehouse.first.nodes + warehouse.second.nodes)
    assert len(warehouse.second.tests) > 100  # every model carries dbt tests (keys, relationships, SCD2, revenue)


def test_a_profile_change_makes_exactly_one_new_version_and_a_noop_update_none(warehouse: Warehouse) -> None:
    versions = warehouse.rows(f"""
        select version_number, vehicle_color, valid_from, valid_to, is_current from gold.dim_driver
        where driver_id = '{CHANGED_DRIVER}' order by version_number""")
    assert len(versions) == 2
    (_, old_colour, _, old_to, old_current), (_, new_colour, new_from, new_to, new_current) = versions
    assert new_colour == "red" and old_colour != "red"
    assert old_to == new_from and int(new_from.timestamp() * 1000) == CHANGE_MS
    assert (old_current, new_current, new_to) == (False, True, None)
    assert warehouse.one(f"select count(*) from gold.dim_driver where driver_id = '{NOOP_DRIVER}'") == 1


def test_facts_join_the_driver_version_valid_at_their_event_time(warehouse: Warehouse) -> None:
    rows = warehouse.rows(f"""
        select epoch_ms(t.completed_at) < {CHANGE_MS} as before_change, d.version_number, d.vehicle_color
        from gold.fact_trips t join gold.dim_driver d using (driver_version_key)
        where t.driver_id = '{CHANGED_DRIVER}'""")
    before = {(version, colour) for is_before, version, colour in rows if is_before}
    after = {(version, colour) for is_before, version, colour in rows if not is_before}
    assert before and after, "the seed must give the changed driver trips on both sides of the change"
    assert {version for version, _ in before} == {1} and "red" not in {colour for _, colour in before}
    assert after == {(2, "red")}
    mismatched = warehouse.one("""
        select count(*) from gold.fact_payments p join gold.dim_driver d using (driver_version_key)
        where not (p.paid_at >= d.valid_from and (d.valid_to is null or p.paid_at < d.valid_to))""")
    assert mismatched == 0


def test_dim_date_covers_every_event_date_and_quality_checks_pass(warehouse: Warehouse) -> None:
    assert warehouse.one("select count(*) from gold.dim_date") == 1  # the data spans 2026-01-01 only
    assert warehouse.one("select min(date_key) from gold.dim_date") == 20260101
    quality = warehouse.second.quality
    assert quality is not None and quality.success and len(quality.outcomes) > 30
    assert quality.data_docs_index is not None and quality.data_docs_index.exists()


def test_dbt_docs_generate_writes_the_static_site(warehouse: Warehouse) -> None:
    index = Path(generate_docs(warehouse.settings))
    assert index.exists()
    assert (index.parent / "catalog.json").stat().st_size > 10_000


def test_query_command_prints_gold_rows(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(warehouse.settings.local_dir))
    monkeypatch.setenv("RIDESHARE_LAKE_URI", warehouse.settings.lake_uri)
    result = CliRunner().invoke(app, ["lakehouse", "query", "select count(*) as completed from gold.fact_trips"])
    assert result.exit_code == 0, result.output
    assert "completed" in result.output and str(warehouse.summary.completed_trips) in result.output
    bad = CliRunner().invoke(app, ["lakehouse", "query", "select * from gold.no_such_table"])
    assert bad.exit_code == 1 and "schemas silver and gold" in bad.output


def test_build_and_maintain_commands_keep_every_row(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(warehouse.settings.local_dir))
    monkeypatch.setenv("RIDESHARE_LAKE_URI", warehouse.settings.lake_uri)
    built = CliRunner().invoke(app, ["lakehouse", "build", "--no-validate"])  # nothing new: an incremental no-op
    assert built.exit_code == 0, built.output
    assert "Rows per layer" in built.output and "fact_trips" in built.output
    assert layer_counts(warehouse.settings) == warehouse.second.counts

    trips = DeltaTable(bronze_table_uri(warehouse.settings, "trips"))
    assert len(trips.file_uris()) > 1
    maintained = CliRunner().invoke(app, ["lakehouse", "maintain", "--retention-hours", "0"])
    assert maintained.exit_code == 0, maintained.output
    assert "Delta maintenance" in maintained.output
    assert len(DeltaTable(bronze_table_uri(warehouse.settings, "trips")).file_uris()) == 1  # one event_date partition
    assert layer_counts(warehouse.settings)["bronze"] == warehouse.second.counts["bronze"]
