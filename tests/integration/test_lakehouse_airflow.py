"""The lakehouse DAGs parse with no import errors and each runs end to end with `dag.test()` on a
fresh SQLite Airflow database against simulation bronze, the dbt DAGs with the engine as a parameter:
silver on Spark, then gold on DuckDB over Spark's silver. Airflow reads AIRFLOW_HOME at import, so it
runs in a subprocess (tests/integration/lakehouse_airflow_runner.py) with its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

from core.settings import load_settings
from lakehouse.bronze.loader import write_jsonl_to_bronze
from lakehouse.bronze.validation import KafkaRecord
from lakehouse.bronze.writer import BronzeWriter
from lakehouse.dags import __file__ as dags_init
from lakehouse.dlq_monitor import read_alerts
from lakehouse.lake import lake_tables, open_lake
from tests.integration.lakehouse_support import simulate, write_lines

# A Spark session (JVM start, the silver build) inside the Airflow run: longer than the default timeout.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

RUNNER = Path(__file__).with_name("lakehouse_airflow_runner.py")
AIRFLOW = Path(sys.executable).with_name("airflow")
START_MS = 1_767_261_600_000  # 2026-01-01T10:00:00Z
DAGS = ("rideshare_silver@spark", "rideshare_gold@duckdb", "rideshare_delta_maintenance", "rideshare_dlq_monitor")


MAINTENANCE_OPERATIONS = {"OPTIMIZE", "VACUUM START", "VACUUM END"}


def _engines(uri: str) -> set[str]:
    """Which engines wrote a Delta table's data ("spark" or "delta-rs"), from its commit history."""
    return {"spark" if "Apache-Spark" in str(commit.get("engineInfo", "")) else "delta-rs" for commit in DeltaTable(uri).history()
            if commit.get("operation") not in MAINTENANCE_OPERATIONS}


def test_every_dag_parses_and_runs_end_to_end_with_dag_test(tmp_path: Path) -> None:
    settings = load_settings(local_dir=tmp_path / "local", lake_uri=str(tmp_path / "lake"))
    simulated = simulate(tmp_path, seed=9, drivers=30, riders=700, hours=2)
    write_jsonl_to_bronze(settings, write_lines(tmp_path / "run.jsonl", simulated.base + simulated.increment))
    poison = [KafkaRecord(topic="rideshare.trips", partition=1, offset=n, timestamp_ms=START_MS, key=b"T", value=b"\x00garbage")
              for n in range(2)]
    assert BronzeWriter(settings, "trips").write(poison).dead_lettered == 2

    env = {key: value for key, value in os.environ.items() if not key.startswith(("RIDESHARE_", "AIRFLOW"))}
    env.update({
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(Path(dags_init).parent),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "RIDESHARE_LOCAL_DIR": str(settings.local_dir),
        "RIDESHARE_LAKE_URI": settings.lake_uri,
        "RIDESHARE_LAKE_VACUUM_RETENTION_HOURS": "0",
        "RIDESHARE_DLQ_ALERT_THRESHOLD": "1",
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    })
    migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=180)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    run = subprocess.run([sys.executable, str(RUNNER), *DAGS], env=env, capture_output=True, text=True, timeout=1500)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    report = json.loads(next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))[len("RESULT "):])

    assert report["import_errors"] == {}
    assert {dag.partition("@")[0] for dag in DAGS} <= set(report["dag_ids"])
    for dag_id in DAGS:
        dag_run = report["runs"][dag_id]
        assert dag_run["state"] == "success", f"{dag_id}: {dag_run}\n{output[-6000:]}"
        assert dag_run["tasks"] and set(dag_run["tasks"].values()) == {"success"}, f"{dag_id}: {dag_run['tasks']}"
    assert report["runs"]["rideshare_silver@spark"]["conf"] == {"engine": "spark"}
    maintenance = report["runs"]["rideshare_delta_maintenance"]["tasks"]
    assert len(maintenance) == 11 and "maintain_silver_and_gold" in maintenance  # a mapped task per bronze table, then the rest

    tables = {table.qualified: table.uri for table in lake_tables(settings.lake_uri)}
    assert _engines(tables["silver.trip_events"]) == {"spark"}  # the engine parameter reached the dbt build
    assert _engines(tables["gold.fct_trips"]) == {"delta-rs"}
    with open_lake(settings) as connection:
        assert connection.execute("select count(*) from gold.fct_trips").fetchone()[0] == simulated.overview["completed"] > 0
    assert (tmp_path / "lake" / "bronze" / "trips" / "_delta_log" / "_last_checkpoint").exists()
    assert (tmp_path / "lake" / "gold" / "fct_trips" / "_delta_log" / "_last_checkpoint").exists()
    alerts = read_alerts(settings)
    assert len(alerts) == 1 and alerts[0]["count"] == 2 and alerts[0]["threshold"] == 1
    assert "DLQ ALERT" in output
