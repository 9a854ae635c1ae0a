"""Hourly silver: incremental dbt build of staging, validation, silver and quarantine models (with their
tests) on the engine given as the `engine` parameter, then the silver suite on the Delta tables.

The silver asset is emitted only when the quality checks pass, so gold never builds on bad silver.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

from lakehouse.dags.assets import ENGINE_PARAMS, SILVER


@dag(
    dag_id="rideshare_silver",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    params=ENGINE_PARAMS,
    tags=["rideshare", "lakehouse", "silver"],
    doc_md=__doc__,
)
def rideshare_silver() -> None:
    @task
    def build_silver(**context: Any) -> dict[str, Any]:
        from core.settings import load_settings
        from lakehouse.build import SILVER_SELECTOR, build_layer
        from lakehouse.dbt_project import Engine

        engine = Engine(context["params"]["engine"])
        nodes = build_layer(load_settings(), SILVER_SELECTOR, engine=engine)
        return {"engine": engine.value, "nodes": len(nodes)}

    @task(outlets=[SILVER])
    def validate_silver() -> str:
        from core.settings import load_settings
        from lakehouse.quality.checkpoint import run_quality_checks

        return run_quality_checks(load_settings(), suites=("silver",)).render()

    build_silver() >> validate_silver()


rideshare_silver()
