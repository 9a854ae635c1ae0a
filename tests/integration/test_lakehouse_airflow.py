"""The lakehouse DAGs parse with no import errors and each runs end to end with `dag.test()` on a
fresh SQLite Airflow database against real bronze data. Airflow reads AIRFLOW_HOME at import, so
it runs in a subprocess (tests/integration/lakehouse_airflow_runner.py) with its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core.settings import load_settings
from lakehouse.bronze.validation import KafkaRecord
from lakehouse.bronze.writer import BronzeWriter
from lakehouse.dags import __file__ as dags_init
from lakehouse.dbt_project import warehouse_paths
from lakehouse.dlq_monitor import read_alerts
from lakehouse.sample_bronze import SampleWorld, write_events_to_bronze

pytestmark = pytest.mark.integration

RUNNER = Path(__file__).with_name("lakehouse_airflow_runner.py")
AIRFLOW = Path(sys.executable).with_name("airflow")
START_MS = 1_767_261_600_000  # 2026-01-01T10:00:00Z
DAGS = ("rideshare_silver", "rideshare_gold", "rideshare_delta_maintenance", "rideshare_dlq_monitor")


def test_every_dag_parses_and_runs_end_to_end_with_dag_test(tmp_path: Path) -> None:
    settings = load_settings(local_dir=tmp_path / "local", lake_uri=str(tmp_path / "lake"))
    world = SampleWorld(seed=9, drivers=6, riders=20, trips_per_hour=30)
    hour, _ = world.hour(START_MS)
    write_events_to_bronze(settings, world.profiles(START_MS) + hour)
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
    run = subprocess.run([sys.executable, str(RUNNER), *DAGS], env=env, capture_output=True, text=True, timeout=480)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    report = json.loads(next(line for line in run.stdout.splitlines() if line.startswith("RESULT "))[len("RESULT "):])

    assert report["import_errors"] == {}
    assert set(DAGS) <= set(report["dag_ids"])
    for dag_id in DAGS:
        dag_run = report["runs"][dag_id]
        assert dag_run["state"] == "success", f"{dag_id}: {dag_run}\n{output[-6000:]}"
        assert dag_run["tasks"] and set(dag_run["tasks"].values()) == {"success"}, f"{dag_id}: {dag_run['tasks']}"
    assert len(report["runs"]["rideshare_delta_maintenance"]["tasks"]) == 10  # one mapped task per bronze table

    with duckdb.connect(str(warehouse_paths(settings).duckdb_file), read_only=True) as connection:
        assert connection.execute("select count(*) from gold.fact_trips").fetchone()[0] > 0
    assert (tmp_path / "lake" / "bronze" / "trips" / "_delta_log" / "_last_checkpoint").exists()
    alerts = read_alerts(settings)
    assert len(alerts) == 1 and alerts[0]["count"] == 2 and alerts[0]["threshold"] == 1
    assert "DLQ ALERT" in output
