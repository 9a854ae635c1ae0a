"""A deliberately broken batch (negative fares from a buggy producer, injected straight into bronze
past the writer's checks) is caught: silver quarantines the rows with their reason and raw bytes,
gold stays consistent, and the Great Expectations run fails with a report that says what and where."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from core.settings import load_settings
from lakehouse.build import build
from lakehouse.dbt_project import warehouse_paths
from lakehouse.exceptions import QualityCheckFailed
from lakehouse.sample_bronze import SampleWorld, inject_into_bronze, write_events_to_bronze
from rideshare.cli import app

pytestmark = pytest.mark.integration

START_MS = 1_767_261_600_000  # 2026-01-01T10:00:00Z


def test_negative_fares_fail_the_quality_run_and_sit_in_quarantine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(local_dir=tmp_path / "local", lake_uri=str(tmp_path / "lake"))
    world = SampleWorld(seed=5, drivers=6, riders=20, trips_per_hour=30)
    events = world.profiles(START_MS)
    hour, summary = world.hour(START_MS)
    write_events_to_bronze(settings, events + hour)

    # The broken batch: three completed trips and their payments re-issued with negative fares.
    completed = [record for schema, record in hour if schema == "trip_event" and record["event_type"] == "completed"][:3]
    broken = [("trip_event", {**record, "event_id": f"broken-{n}", "trip_id": f"BROKEN-{n}", "fare_brl": -abs(record["fare_brl"])})
              for n, record in enumerate(completed)]
    broken += [("payment", {**record, "event_id": f"broken-pay-{n}", "trip_id": f"BROKEN-{n}", "payment_id": f"P-BROKEN-{n}",
                            "fare_brl": -10.0, "platform_fee_brl": -2.5, "driver_payout_brl": -7.5})
               for n, record in enumerate(r for s, r in hour if s == "payment")][:3]
    assert inject_into_bronze(settings, broken, ingestion_ms=START_MS + 7_200_000) == 6

    with pytest.raises(QualityCheckFailed) as failure:
        build(settings)  # dbt itself passes: the rows were quarantined, not silently dropped
    report = failure.value.report
    assert "FAILED [silver] silver.quarantine_bronze__trip_events: expect_table_row_count_to_equal" in report
    assert "observed 3" in report and "negative_fare x3" in report
    assert "silver.quarantine_bronze__payments" in report
    assert "data docs:" in report

    with duckdb.connect(str(warehouse_paths(settings).duckdb_file), read_only=True) as connection:
        quarantined = connection.execute("select event_id, invalid_reason, raw_value is not null "
                                         "from silver.quarantine_bronze__trip_events order by event_id").fetchall()
        assert quarantined == [(f"broken-{n}", "negative_fare", True) for n in range(3)]
        assert connection.execute("select count(*) from silver.quarantine_bronze__payments where invalid_reason = 'negative_fare'"
                                  ).fetchone()[0] == 3
        assert connection.execute("select min(fare_brl) from gold.fact_trips").fetchone()[0] >= 0
        assert connection.execute("select count(*) from gold.fact_trips").fetchone()[0] == summary.completed_trips

    # The CLI turns the failure into exit code 1 and prints the same report.
    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(settings.local_dir))
    monkeypatch.setenv("RIDESHARE_LAKE_URI", settings.lake_uri)
    result = CliRunner().invoke(app, ["lakehouse", "validate", "--suite", "silver"])
    assert result.exit_code == 1
    assert "negative_fare x3" in result.output
