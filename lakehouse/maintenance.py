"""Delta table maintenance of the lake: compact small files, write a checkpoint, vacuum old files.

The bronze writer commits every few seconds, so tables collect many small files and many log
entries; compaction rewrites them into large files, a checkpoint lets readers skip replaying the
log, and vacuum deletes files no version inside the retention window still references.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from core.settings import Settings
from lakehouse.bronze.specs import BRONZE_TABLES, bronze_table_uri
from lakehouse.exceptions import LakehouseError
from lakehouse.lake import lake_tables, lake_uri_of

__all__ = ["TableMaintenance", "maintain_lake", "maintain_table"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableMaintenance:
    """What maintenance did to one table."""

    table: str
    version_before: int
    version_after: int
    files_before: int
    files_after: int
    files_compacted_away: int
    files_vacuumed: int
    seconds: float


def maintain_table(uri: str, *, retention_hours: float, storage_options: dict[str, str] | None = None,
                   name: str | None = None) -> TableMaintenance:
    """Compact, checkpoint and vacuum one Delta table (vacuum deletes files, not a dry run)."""
    started = time.perf_counter()
    try:
        table = DeltaTable(uri, storage_options=storage_options or None)
    except TableNotFoundError as exc:
        raise LakehouseError(f"no Delta table at {uri}: nothing to maintain") from exc
    version_before, files_before = table.version(), len(table.file_uris())
    metrics = table.optimize.compact()
    table.create_checkpoint()
    # Retention shorter than Delta's 7-day default is a deliberate choice of the settings.
    vacuumed = table.vacuum(retention_hours=int(retention_hours), dry_run=False, enforce_retention_duration=False)
    table.cleanup_metadata()
    result = TableMaintenance(
        table=name or uri, version_before=version_before, version_after=table.version(), files_before=files_before,
        files_after=len(table.file_uris()), files_compacted_away=int(metrics.get("numFilesRemoved", 0)),
        files_vacuumed=len(vacuumed), seconds=time.perf_counter() - started)
    log.info("maintained %s: %d -> %d files, %d vacuumed", result.table, files_before, result.files_after, result.files_vacuumed)
    return result


def maintain_lake(settings: Settings, *, retention_hours: float | None = None,
                  on_table: Callable[[str], None] | None = None) -> list[TableMaintenance]:
    """Maintain every existing bronze, silver and gold table with the settings' (or the given) vacuum retention."""
    hours = settings.lake_vacuum_retention_hours if retention_hours is None else retention_hours
    tables = [(table.table_name, bronze_table_uri(settings, table.topic_key)) for table in BRONZE_TABLES.values()]
    tables += [(table.qualified, table.uri) for table in lake_tables(lake_uri_of(settings), settings.lake_storage_options)]
    results = []
    for name, uri in tables:
        if on_table:
            on_table(name)
        try:
            results.append(maintain_table(uri, retention_hours=hours, storage_options=settings.lake_storage_options, name=name))
        except LakehouseError:
            log.info("skipping %s: not created yet", name)
    return results
