"""Assets the lakehouse DAGs produce: gold is scheduled on silver's asset, not on a clock."""

from __future__ import annotations

from airflow.sdk import Asset

__all__ = ["GOLD", "SILVER"]

SILVER = Asset(uri="rideshare://warehouse/silver", name="rideshare_silver")
"""Silver staging and quarantine tables, updated and validated."""

GOLD = Asset(uri="rideshare://warehouse/gold", name="rideshare_gold")
"""The gold star schema, rebuilt and validated."""
