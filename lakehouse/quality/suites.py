"""The Great Expectations suites of silver and gold Delta tables, declared as data (no I/O here).

Each `TableCheck` names a lake table, the SQL columns to read for it and a function building
its expectations from the `QualityContext` (thresholds plus the data's own clock: freshness is
measured against the newest event time in silver, never the wall clock, because event time is
simulated). Quarantine tables are expected to be empty: a broken batch fails the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation

from lakehouse.dbt_project import VALUE_BOUNDS

__all__ = ["QUARANTINE_TABLES", "SUITES", "QualityContext", "QualityThresholds", "TableCheck", "suite_tables"]


DRIVER_STATUSES = ("offline", "available", "repositioning", "en_route_pickup", "on_trip")


@dataclass(frozen=True)
class QualityThresholds:
    """Bounds the data must respect. Value bounds default to the ones silver quarantines by (dbt vars)."""

    surge_cap: float = VALUE_BOUNDS.surge_cap
    max_fare_brl: float = VALUE_BOUNDS.max_fare_brl
    max_trip_total_s: float = 4 * 3600.0
    max_ride_s: float = 3 * 3600.0
    min_ride_s: float = 10.0
    silver_freshness_lag_s: float = 3600.0
    gold_freshness_lag_s: float = 2 * 3600.0
    min_completed_trips: int = 1


@dataclass(frozen=True)
class QualityContext:
    """Thresholds plus the newest event time in silver (epoch seconds), the data's own 'now'."""

    thresholds: QualityThresholds
    data_now_s: float


@dataclass(frozen=True)
class TableCheck:
    """One table validated by one suite: `select_sql` columns are read into a dataframe."""

    suite: str
    table: str
    select_sql: str
    expectations: Callable[[QualityContext], list[Expectation]]

    @property
    def name(self) -> str:
        return self.table.split(".")[-1]


def _trip_events(ctx: QualityContext) -> list[Expectation]:
    t = ctx.thresholds
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToBeUnique(column="event_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="trip_id"),
        gxe.ExpectColumnValuesToBeBetween(column="surge_multiplier", min_value=1.0, max_value=t.surge_cap),
        gxe.ExpectColumnValuesToBeBetween(column="fare_brl", min_value=0.0, max_value=t.max_fare_brl),
        gxe.ExpectColumnMaxToBeBetween(column="event_time_s", min_value=ctx.data_now_s - t.silver_freshness_lag_s),
    ]


def _payments(ctx: QualityContext) -> list[Expectation]:
    t = ctx.thresholds
    return [
        gxe.ExpectColumnValuesToBeUnique(column="event_id"),
        gxe.ExpectColumnValuesToBeBetween(column="fare_brl", min_value=0.0, max_value=t.max_fare_brl),
        gxe.ExpectColumnValuesToBeBetween(column="platform_fee_brl", min_value=0.0),
        gxe.ExpectColumnValuesToBeBetween(column="driver_payout_brl", min_value=0.0),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["captured", "failed"]),
    ]


def _driver_status(ctx: QualityContext) -> list[Expectation]:
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="new_status", value_set=list(DRIVER_STATUSES)),
        gxe.ExpectColumnMaxToBeBetween(column="event_time_s", min_value=ctx.data_now_s - ctx.thresholds.silver_freshness_lag_s),
    ]


def _surge_updates(ctx: QualityContext) -> list[Expectation]:
    return [gxe.ExpectColumnValuesToBeBetween(column="surge_multiplier", min_value=1.0, max_value=ctx.thresholds.surge_cap)]


def _empty(_: QualityContext) -> list[Expectation]:
    return [gxe.ExpectTableRowCountToEqual(value=0)]


def _fact_trips(ctx: QualityContext) -> list[Expectation]:
    t = ctx.thresholds
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=t.min_completed_trips),
        gxe.ExpectColumnValuesToBeUnique(column="trip_id"),
        gxe.ExpectColumnValuesToBeBetween(column="fare_brl", min_value=0.0, max_value=t.max_fare_brl),
        gxe.ExpectColumnValuesToBeBetween(column="surge_multiplier", min_value=1.0, max_value=t.surge_cap),
        gxe.ExpectColumnValuesToBeBetween(column="total_s", min_value=0.0, max_value=t.max_trip_total_s),
        gxe.ExpectColumnValuesToBeBetween(column="ride_s", min_value=t.min_ride_s, max_value=t.max_ride_s),
        gxe.ExpectColumnValuesToNotBeNull(column="driver_version_key"),
        gxe.ExpectColumnMaxToBeBetween(column="completed_at_s", min_value=ctx.data_now_s - t.gold_freshness_lag_s),
    ]


def _fact_payments(ctx: QualityContext) -> list[Expectation]:
    return [
        gxe.ExpectColumnValuesToBeUnique(column="payment_id"),
        gxe.ExpectColumnValuesToBeBetween(column="fare_brl", min_value=0.0, max_value=ctx.thresholds.max_fare_brl),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["captured", "failed"]),
    ]


def _surge_history(ctx: QualityContext) -> list[Expectation]:
    return [gxe.ExpectColumnValuesToBeBetween(column="max_surge_multiplier", min_value=1.0, max_value=ctx.thresholds.surge_cap)]


def _platform_revenue(_: QualityContext) -> list[Expectation]:
    return [gxe.ExpectTableRowCountToBeBetween(min_value=1), gxe.ExpectColumnValuesToBeBetween(column="gross_fare_brl", min_value=0.0)]


def _dim_driver(_: QualityContext) -> list[Expectation]:
    return [gxe.ExpectTableRowCountToBeBetween(min_value=1), gxe.ExpectColumnValuesToBeUnique(column="driver_version_key")]


QUARANTINE_TABLES: tuple[str, ...] = tuple(
    f"silver.quarantine_{entity}" for entity in (
        "trip_events", "gps_pings", "driver_status_changes", "surge_updates", "ratings", "payments",
        "driver_profiles", "rider_profiles", "simulation_control_events"))

SUITES: tuple[TableCheck, ...] = (
    TableCheck("silver", "silver.trip_events",
               "select event_id, trip_id, surge_multiplier, fare_brl, epoch(event_time) as event_time_s "
               "from silver.trip_events",
               _trip_events),
    TableCheck("silver", "silver.payments",
               "select event_id, fare_brl, platform_fee_brl, driver_payout_brl, status from silver.payments", _payments),
    TableCheck("silver", "silver.driver_status_changes",
               "select new_status, epoch(event_time) as event_time_s from silver.driver_status_changes", _driver_status),
    TableCheck("silver", "silver.surge_updates",
               "select surge_multiplier from silver.surge_updates", _surge_updates),
    *(TableCheck("silver", table, f"select invalid_reason from {table}", _empty) for table in QUARANTINE_TABLES),
    TableCheck("gold", "gold.fct_trips",
               "select trip_id, fare_brl, surge_multiplier, total_s, ride_s, driver_version_key, epoch(completed_at) as completed_at_s "
               "from gold.fct_trips", _fact_trips),
    TableCheck("gold", "gold.fct_payments", "select payment_id, fare_brl, status from gold.fct_payments", _fact_payments),
    TableCheck("gold", "gold.agg_surge_history", "select max_surge_multiplier from gold.agg_surge_history", _surge_history),
    TableCheck("gold", "gold.agg_daily_platform_revenue", "select gross_fare_brl from gold.agg_daily_platform_revenue", _platform_revenue),
    TableCheck("gold", "gold.dim_driver", "select driver_version_key from gold.dim_driver", _dim_driver),
)

DATA_NOW_SQL = """
select max(t) from (
    select max(epoch(event_time)) as t from silver.trip_events
    union all select max(epoch(event_time)) from silver.driver_status_changes
    union all select max(epoch(event_time)) from silver.payments
)
"""


def suite_tables(suites: tuple[str, ...]) -> list[TableCheck]:
    """The table checks of the named suites (`silver`, `gold`), in declaration order."""
    unknown = set(suites) - {check.suite for check in SUITES}
    if unknown:
        raise ValueError(f"unknown suite(s) {sorted(unknown)}; known: silver, gold")
    return [check for check in SUITES if check.suite in suites]
