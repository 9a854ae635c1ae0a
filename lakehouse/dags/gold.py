"""Gold: rebuilt (with its dbt tests, SCD2 and revenue checks) whenever silver's asset is updated, on
the engine given as the `engine` parameter (duckdb when triggered by the asset), then the gold suite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import dag, task

from lakehouse.dags.assets import ENGINE_PARAMS, GOLD, SILVER


@dag(
    dag_id="rideshare_gold",
    schedule=[SILVER],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    params=ENGINE_PARAMS,
    tags=["rideshare", "lakehouse", "gold"],
    doc_md=__doc__,
)
def rideshare_gold() -> None:
    @task
    def build_gold(**context: Any) -> dict[str, Any]:
        from core.settings import load_settings
        from lakehouse.build import GOLD_SELECTOR, build_layer
        from lakehouse.dbt_project import Engine

        engine = Engine(context["params"]["engine"])
        return {"engine": engine.value, "nodes": len(build_layer(load_settings(), GOLD_SELECTOR, engine=engine))}

    @task(outlets=[GOLD])
    def validate_gold() -> str:
        from core.settings import load_settings
        from lakehouse.quality.checkpoint import run_quality_checks

        return run_quality_checks(load_settings(), suites=("gold",)).render()

    build_gold() >> validate_gold()


rideshare_gold()
