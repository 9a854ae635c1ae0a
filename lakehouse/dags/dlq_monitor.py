"""DLQ monitor every 15 minutes: above the threshold, a WARNING log line, a Prometheus metric and a row in the alerts table."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, task


@dag(
    dag_id="rideshare_dlq_monitor",
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["rideshare", "lakehouse", "dlq"],
    doc_md=__doc__,
)
def rideshare_dlq_monitor() -> None:
    @task
    def check_dead_letters() -> dict:
        from core.settings import load_settings
        from lakehouse.dlq_monitor import check_dlq

        check = check_dlq(load_settings())
        return {"new_dead_letters": check.new_dead_letters, "alert": check.alert.message if check.alert else None}

    check_dead_letters()


rideshare_dlq_monitor()
