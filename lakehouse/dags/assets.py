"""What the lakehouse DAGs share: the assets they produce (gold is scheduled on silver's asset, not on a
clock) and the `engine` parameter of the DAGs that run dbt."""

from __future__ import annotations

from airflow.sdk import Asset, Param

__all__ = ["ENGINE_PARAMS", "GOLD", "SILVER"]

SILVER = Asset(uri="rideshare://lake/silver", name="rideshare_silver")
"""Silver Delta tables (validated events and quarantine), updated and validated."""

GOLD = Asset(uri="rideshare://lake/gold", name="rideshare_gold")
"""The gold star schema's Delta tables, rebuilt and validated."""

ENGINE_PARAMS = {
    "engine": Param("duckdb", type="string", enum=["duckdb", "spark"],
                    description="The dbt engine: duckdb (default) or spark. Both write the same Delta tables; "
                                "the quality checks read them whichever engine built them."),
}
