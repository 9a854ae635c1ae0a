"""A deliberately broken batch (negative fares from a buggy producer, injected straight into bronze
past the writer's checks) is caught: silver quarantines the rows with their reason and raw bytes,
gold stays consistent, and the Great Expectations run over the Delta tables fails with a report
that says what and where."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from typer.testing import CliRunner

from core.settings import Settings, load_settings
from lakehouse.bronze.loader import write_jsonl_to_bronze
from lakehouse.bronze.specs import arrow_schema, bronze_table_uri
from lakehouse.build import build
from lakehouse.exceptions import QualityCheckFailed
from lakehouse.lake import open_lake
from rideshare.cli import app
from tests.integration.lakehouse_support import simulate, write_lines

pytestmark = pytest.mark.integration

BROKEN_PARTITION = 7  # a partition the load never used: the injected rows get their own coordinates


def _inject_broken_copies(settings: Settings, topic_key: str, rows: pd.DataFrame, changes: dict[str, object]) -> int:
    """Append modified copies of bronze `rows` to their bronze table, bypassing the writer's validation."""
    broken = rows.copy()
    for column, value in changes.items():
        broken[column] = [f"{value}-{n}" for n in range(len(broken))] if isinstance(value, str) else value
    broken["kafka_partition"] = BROKEN_PARTITION
    broken["kafka_offset"] = range(len(broken))
    table = pa.Table.from_pandas(broken, schema=arrow_schema(topic_key), preserve_index=False)
    write_deltalake(bronze_table_uri(settings, topic_key), table, mode="append", partition_by=["event_date"])
    return len(broken)


def test_negative_fares_fail_the_quality_run_and_sit_in_quarantine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(local_dir=tmp_path / "local", lake_uri=str(tmp_path / "lake"))
    run = simulate(tmp_path, seed=5, drivers=40, riders=900, hours=2)
    write_jsonl_to_bronze(settings, write_lines(tmp_path / "run.jsonl", run.base + run.increment))

    # The broken batch: three completed trips and three payments re-issued with negative fares.
    trips = DeltaTable(bronze_table_uri(settings, "trips")).to_pandas()
    completed = trips[trips["event_type"] == "completed"].head(3)
    payments = DeltaTable(bronze_table_uri(settings, "payments")).to_pandas().head(3)
    assert len(completed) == 3 and len(payments) == 3
    injected = _inject_broken_copies(settings, "trips", completed, {"event_id": "broken", "trip_id": "BROKEN",
                                                                    "fare_brl": -12.5})
    injected += _inject_broken_copies(settings, "payments", payments, {"event_id": "broken-pay", "trip_id": "BROKEN",
                                                                       "payment_id": "P-BROKEN", "fare_brl": -10.0,
                                                                       "platform_fee_brl": -2.5, "driver_payout_brl": -7.5})
    assert injected == 6

    with pytest.raises(QualityCheckFailed) as failure:
        build(settings)  # dbt itself passes: the rows were quarantined, not silently dropped
    report = failure.value.report
    assert "FAILED [silver] silver.quarantine_trip_events: expect_table_row_count_to_equal" in report
    assert "observed 3" in report and "negative_fare x3" in report
    assert "silver.quarantine_payments" in report
    assert "data docs:" in report

    with open_lake(settings) as connection:
        quarantined = connection.execute("select event_id, invalid_reason, raw_avro is not null "
                                         "from silver.quarantine_trip_events order by event_id").fetchall()
        assert quarantined == [(f"broken-{n}", "negative_fare", True) for n in range(3)]
        assert connection.execute("select count(*) from silver.quarantine_payments where invalid_reason = 'negative_fare'"
                                  ).fetchone()[0] == 3
        assert connection.execute("select min(fare_brl) from gold.fct_trips").fetchone()[0] >= 0
        assert connection.execute("select count(*) from gold.fct_trips").fetchone()[0] == run.overview["completed"]

    # The CLI turns the failure into exit code 1 and prints the same report.
    monkeypatch.setenv("RIDESHARE_LOCAL_DIR", str(settings.local_dir))
    monkeypatch.setenv("RIDESHARE_LAKE_URI", settings.lake_uri)
    result = CliRunner().invoke(app, ["lakehouse", "validate", "--suite", "silver"])
    assert result.exit_code == 1
    assert "negative_fare x3" in result.output
