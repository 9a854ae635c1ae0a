"""Daily Delta maintenance of the lake: compact small files, checkpoint the log, vacuum with retention (every bronze
table in its own mapped task, then the silver and gold tables dbt wrote)."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, task

from lakehouse.bronze.specs import BRONZE_TABLES


@dag(
    dag_id="rideshare_delta_maintenance",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["rideshare", "lakehouse", "maintenance"],
    doc_md=__doc__,
)
def rideshare_delta_maintenance() -> None:
    @task
    def compact_checkpoint_vacuum(topic_key: str) -> dict:
        from dataclasses import asdict

        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        from core.settings import load_settings
        from lakehouse.bronze.specs import bronze_table_uri
        from lakehouse.maintenance import maintain_table

        settings = load_settings()
        uri = bronze_table_uri(settings, topic_key)
        try:
            DeltaTable(uri, storage_options=settings.lake_storage_options or None)
        except TableNotFoundError:
            return {"table": topic_key, "skipped": "not created yet"}
        return asdict(maintain_table(uri, retention_hours=settings.lake_vacuum_retention_hours,
                                     storage_options=settings.lake_storage_options, name=topic_key))

    @task
    def maintain_silver_and_gold() -> list[dict]:
        from dataclasses import asdict

        from core.settings import load_settings
        from lakehouse.lake import lake_tables, lake_uri_of
        from lakehouse.maintenance import maintain_table

        settings = load_settings()
        return [asdict(maintain_table(table.uri, retention_hours=settings.lake_vacuum_retention_hours,
                                      storage_options=settings.lake_storage_options, name=table.qualified))
                for table in lake_tables(lake_uri_of(settings), settings.lake_storage_options)]

    # One mapped task per bronze table: one slow or failing table does not hold up the others.
    compact_checkpoint_vacuum.expand(topic_key=sorted(BRONZE_TABLES)) >> maintain_silver_and_gold()


rideshare_delta_maintenance()
