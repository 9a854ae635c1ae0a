"""Engine parity: a fingerprint of every gold table (row count + a checksum over its key columns).

Two lakes built from the same bronze by different engines must have equal fingerprints. The key
columns are the grain and the foreign keys of each table, plus its counts; floating-point measures
are left out (a sum of doubles depends on the order rows are added in, which differs per engine).
Values are compared as text, so an INT on one engine and a BIGINT on the other still agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from core.settings import Settings
from lakehouse.exceptions import LakehouseError
from lakehouse.lake import open_lake

__all__ = ["GOLD_KEY_COLUMNS", "TableFingerprint", "gold_fingerprints", "mismatches"]

GOLD_KEY_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "dim_date": ("date_key", "date_day", "iso_day_of_week", "iso_week", "day_name", "is_weekend"),
    "dim_time": ("time_key", "hour", "minute", "day_part"),
    "dim_zone": ("zone_id", "zone_name", "zone_code"),
    "dim_driver": ("driver_version_key", "driver_id", "version_number", "valid_from", "valid_to", "is_current"),
    "dim_rider": ("rider_version_key", "rider_id", "version_number", "valid_from", "valid_to", "is_current"),
    "fct_trips": ("trip_id", "driver_version_key", "rider_version_key", "completed_date_key", "completed_time_key", "payment_id"),
    "fct_cancellations": ("trip_id", "rider_version_key", "driver_version_key", "date_key", "outcome", "cancelled_phase"),
    "fct_offers": ("offer_id", "driver_version_key", "date_key", "time_key", "outcome"),
    "fct_payments": ("payment_id", "trip_id", "driver_version_key", "rider_version_key", "date_key", "status"),
    "fct_ratings": ("rating_id", "driver_version_key", "rider_version_key", "date_key", "stars"),
    "fct_driver_activity": ("activity_id", "driver_version_key", "status", "date_key", "interval_start", "interval_end"),
    "agg_daily_driver_performance": ("driver_id", "date_key", "completed_trips", "ratings_received", "offers_received",
                                     "offers_accepted"),
    "agg_daily_platform_revenue": ("date_key", "captured_payments", "failed_payments"),
    "agg_hourly_zone_demand": ("hour_start", "zone_id", "requested_trips", "completed_trips", "cancelled_trips", "no_driver_trips"),
    "agg_surge_history": ("hour_start", "zone_id", "updates"),
}


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    key_checksum: int


def gold_fingerprints(settings: Settings) -> dict[str, TableFingerprint]:
    """Fingerprints of the gold tables of `settings`' lake (every table of GOLD_KEY_COLUMNS must exist)."""
    fingerprints = {}
    with open_lake(settings, layers=("gold",), unqualified=False) as connection:
        for table, columns in GOLD_KEY_COLUMNS.items():
            row_text = ", ".join(f"coalesce(cast({column} as varchar), '<null>')" for column in columns)
            try:
                rows, checksum = connection.execute(
                    f"select count(*), coalesce(sum(hash(concat_ws('|', {row_text}))), 0) from gold.{table}").fetchall()[0]
            except duckdb.Error as exc:  # a missing table or column: say which
                raise LakehouseError(f"cannot fingerprint gold.{table}: {exc}") from exc
            fingerprints[table] = TableFingerprint(int(rows), int(checksum))
    return fingerprints


def mismatches(left: Mapping[str, TableFingerprint], right: Mapping[str, TableFingerprint]) -> dict[str, tuple[object, object]]:
    """The tables whose fingerprints differ (or exist on one side only)."""
    return {table: (left.get(table), right.get(table)) for table in sorted(set(left) | set(right)) if left.get(table) != right.get(table)}
