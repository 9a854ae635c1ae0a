"""DLQ monitor: alert when too many dead letters arrived since the last check.

Each check counts the bronze DLQ rows ingested after the previous check's watermark. When the count
exceeds the threshold the alert goes where a user sees it: a WARNING log line, Prometheus metrics
(`rideshare_dlq_dead_letters_new`, `rideshare_dlq_alerts_total`) and a row in the lake's alerts
table (`{lake_uri}/ops/alerts`). Every check is recorded in `{lake_uri}/ops/dlq_checks`, which is
also where the next check finds its watermark.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from core.settings import Settings
from lakehouse.bronze.specs import bronze_table_uri

__all__ = ["ALERTS_SCHEMA", "DlqAlert", "DlqCheck", "alerts_uri", "check_dlq", "evaluate_dead_letters", "read_alerts"]

log = logging.getLogger(__name__)

_TS = pa.timestamp("us", tz="UTC")
ALERTS_SCHEMA = pa.schema([
    pa.field("alert_time", _TS, nullable=False),
    pa.field("alert_type", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("count", pa.int64(), nullable=False),
    pa.field("threshold", pa.int64(), nullable=False),
    pa.field("window_start", _TS),
    pa.field("window_end", _TS),
    pa.field("details", pa.string()),
    pa.field("message", pa.string(), nullable=False),
])
CHECKS_SCHEMA = pa.schema([
    pa.field("check_time", _TS, nullable=False),
    pa.field("watermark", _TS),
    pa.field("new_dead_letters", pa.int64(), nullable=False),
    pa.field("alerted", pa.bool_(), nullable=False),
])


@dataclass(frozen=True)
class DlqAlert:
    count: int
    threshold: int
    error_types: dict[str, int]
    message: str


@dataclass(frozen=True)
class DlqCheck:
    """One check: dead letters since `window_start` (exclusive) up to `window_end`, and the alert if any."""

    new_dead_letters: int
    window_start: datetime | None
    window_end: datetime | None
    alert: DlqAlert | None


def evaluate_dead_letters(error_types: dict[str, int], threshold: int) -> DlqAlert | None:
    """The alert for these new dead letters (counts per error type), or None within the threshold."""
    count = sum(error_types.values())
    if count <= threshold:
        return None
    worst = ", ".join(f"{kind} x{n}" for kind, n in sorted(error_types.items(), key=lambda item: -item[1]))
    return DlqAlert(count, threshold, dict(error_types),
                    f"{count} dead letter(s) since the last check (threshold {threshold}): {worst}. "
                    "Inspect them with `rideshare lakehouse query` on the bronze DLQ or the topic rideshare.dlq.")


def alerts_uri(settings: Settings) -> str:
    return f"{settings.lake_uri.rstrip('/')}/ops/alerts"


def _checks_uri(settings: Settings) -> str:
    return f"{settings.lake_uri.rstrip('/')}/ops/dlq_checks"


@cache
def _metrics(registry: CollectorRegistry = REGISTRY) -> tuple[Gauge, Counter]:
    return (Gauge("rideshare_dlq_dead_letters_new", "Dead letters found by the last DLQ monitor check.", registry=registry),
            Counter("rideshare_dlq_alerts_total", "DLQ monitor alerts raised.", registry=registry))


def _open(uri: str, settings: Settings) -> DeltaTable | None:
    try:
        return DeltaTable(uri, storage_options=settings.lake_storage_options or None)
    except TableNotFoundError:
        return None


def _last_watermark(settings: Settings) -> datetime | None:
    checks = _open(_checks_uri(settings), settings)
    if checks is None:
        return None
    watermark = pc.max(checks.to_pyarrow_dataset().to_table(columns=["watermark"], use_threads=False)["watermark"]).as_py()
    return watermark


def _new_dead_letters(settings: Settings, since: datetime | None) -> tuple[dict[str, int], datetime | None]:
    dlq = _open(bronze_table_uri(settings, "dlq"), settings)
    if dlq is None:
        return {}, since
    table = dlq.to_pyarrow_dataset().to_table(columns=["error_type", "ingestion_time"], use_threads=False)
    if since is not None:
        table = table.filter(pc.greater(table["ingestion_time"], pa.scalar(since, _TS)))
    if table.num_rows == 0:
        return {}, since
    counts = table.group_by("error_type").aggregate([("error_type", "count")]).to_pylist()
    return {row["error_type"]: row["error_type_count"] for row in counts}, pc.max(table["ingestion_time"]).as_py()


def check_dlq(settings: Settings, *, threshold: int | None = None, now: datetime | None = None) -> DlqCheck:
    """Count dead letters since the last check; log, count and record an alert above the threshold."""
    limit = settings.dlq_alert_threshold if threshold is None else threshold
    checked_at = now or datetime.now(UTC)
    since = _last_watermark(settings)
    error_types, watermark = _new_dead_letters(settings, since)
    alert = evaluate_dead_letters(error_types, limit)
    new_dead_letters, alerts_total = _metrics()
    new_dead_letters.set(sum(error_types.values()))
    options = settings.lake_storage_options or None
    if alert is not None:
        log.warning("DLQ ALERT: %s", alert.message)
        alerts_total.inc()
        row = {"alert_time": checked_at, "alert_type": "dlq_threshold_exceeded", "source": "bronze/dlq", "count": alert.count,
               "threshold": limit, "window_start": since, "window_end": watermark, "details": json.dumps(alert.error_types, sort_keys=True),
               "message": alert.message}
        write_deltalake(alerts_uri(settings), pa.Table.from_pylist([row], schema=ALERTS_SCHEMA), mode="append", storage_options=options)
    else:
        log.info("DLQ monitor: %d new dead letter(s), threshold %d", sum(error_types.values()), limit)
    check = {"check_time": checked_at, "watermark": watermark, "new_dead_letters": sum(error_types.values()), "alerted": alert is not None}
    write_deltalake(_checks_uri(settings), pa.Table.from_pylist([check], schema=CHECKS_SCHEMA), mode="append", storage_options=options)
    return DlqCheck(sum(error_types.values()), since, watermark, alert)


def read_alerts(settings: Settings) -> list[dict]:
    """Every alert recorded so far, oldest first."""
    alerts = _open(alerts_uri(settings), settings)
    if alerts is None:
        return []
    return sorted(alerts.to_pyarrow_dataset().to_table(use_threads=False).to_pylist(), key=lambda row: row["alert_time"])
