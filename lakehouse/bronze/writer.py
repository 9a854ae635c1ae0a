"""The exactly-once bronze writer: one topic's records to its event table and the DLQ table.

Every commit carries one Delta application transaction per Kafka partition in the batch,
`app_id = "{table}:{topic}:{partition}"`, `version = last offset written`. Before writing, the writer
reads the committed version of each app id and drops records at or below it, so a re-delivered batch
(a worker killed after the Delta commit but before its Kafka offsets were committed) is skipped.
delta-rs does not reject a lower version by itself; the read-then-skip check here is what makes
re-delivery safe, and a commit that races another commit carrying the same app id fails in Delta's
conflict check and is retried after re-reading the versions.

Each table keeps its own versions: a batch's valid rows go to the event table, its rejected rows to
the DLQ table, and a crash between the two commits is repaired by the next delivery.

Usage follows the sink contract: `plan(records)` (classify, drop what is already committed) →
publish `plan.dead_letters` to the DLQ topic if there is one → `commit(plan)`; acknowledge the
Kafka offsets only after `commit` returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from core.settings import Settings
from lakehouse.bronze.columns import dead_letter_table, event_table
from lakehouse.bronze.exceptions import BronzeCommitError
from lakehouse.bronze.specs import DLQ_TABLE, BronzeTable, arrow_schema, bronze_table, bronze_table_uri
from lakehouse.bronze.validation import DAY_MS, Decoded, EventTimeBounds, KafkaRecord, Rejected, classify
from schemas.catalog import topic_spec

__all__ = ["BatchPlan", "BatchResult", "BronzeWriter", "app_id"]

log = logging.getLogger(__name__)

Row = TypeVar("Row", Decoded, Rejected)


def app_id(table: BronzeTable, topic: str, partition: int) -> str:
    """The Delta application-transaction id of one (table, Kafka topic, partition)."""
    return f"{table.table_name}:{topic}:{partition}"


def _wall_clock_us() -> int:
    return time.time_ns() // 1000


class DeltaLog:
    """One Delta table: committed app-transaction versions and appends (opened lazily)."""

    def __init__(self, uri: str, storage_options: dict[str, str]) -> None:
        self.uri = uri
        self._storage_options = storage_options or None
        self._table: DeltaTable | None = None

    def refresh(self) -> None:
        """See commits made since the last look (by this or any other writer)."""
        if self._table is not None:
            self._table.update_incremental()
            return
        try:
            self._table = DeltaTable(self.uri, storage_options=self._storage_options)
        except TableNotFoundError:
            self._table = None  # created by the first append

    @property
    def has_snapshot(self) -> bool:
        """False until the table is loaded: an append then could not detect a racing commit of the same app id."""
        return self._table is not None

    def create_if_missing(self, schema: pa.Schema, partition_by: Sequence[str]) -> None:
        """Create the table empty (or load it if another writer did), so every append has a snapshot."""
        self._table = DeltaTable.create(self.uri, schema, mode="ignore", partition_by=list(partition_by),
                                        storage_options=self._storage_options)

    def committed_version(self, app: str) -> int | None:
        return None if self._table is None else self._table.transaction_version(app)

    def append(self, data: pa.Table, partition_by: Sequence[str], transactions: list[Transaction]) -> None:
        write_deltalake(
            self._table if self._table is not None else self.uri,
            data,
            mode="append",
            partition_by=list(partition_by),
            storage_options=self._storage_options,
            commit_properties=CommitProperties(app_transactions=transactions),
        )


@dataclass
class _Pending(Generic[Row]):
    """Rows bound for one table, already filtered against its committed versions."""

    table: BronzeTable
    log: DeltaLog
    rows: list[Row]
    skipped: int = 0

    def drop_committed(self) -> None:
        """Keep only rows above each partition's committed version (re-reads the Delta log)."""
        self.log.refresh()
        versions: dict[tuple[str, int], int | None] = {}
        kept: list[Row] = []
        for row in self.rows:
            record = row.record
            coordinates = (record.topic, record.partition)
            if coordinates not in versions:
                versions[coordinates] = self.log.committed_version(app_id(self.table, *coordinates))
            committed = versions[coordinates]
            if committed is None or record.offset > committed:
                kept.append(row)
        self.skipped += len(self.rows) - len(kept)
        self.rows = kept

    def transactions(self) -> list[Transaction]:
        last: dict[tuple[str, int], int] = {}
        for row in self.rows:
            coordinates = (row.record.topic, row.record.partition)
            last[coordinates] = max(last.get(coordinates, -1), row.record.offset)
        return [Transaction(app_id=app_id(self.table, *coordinates), version=offset) for coordinates, offset in last.items()]


@dataclass(frozen=True)
class BatchPlan:
    """What a batch will write: new event rows and new dead letters (already-committed ones dropped)."""

    events: _Pending[Decoded]
    dead: _Pending[Rejected]
    ingestion_time_us: int

    @property
    def dead_letters(self) -> list[Rejected]:
        """Dead letters not yet in the DLQ table: publish these to the DLQ topic before `commit`."""
        return self.dead.rows


@dataclass(frozen=True)
class BatchResult:
    written: int
    dead_lettered: int
    skipped: int
    commits: int
    commit_seconds: float
    error_types: dict[str, int] = field(default_factory=dict)


class BronzeWriter:
    """Writes one catalog topic's records to bronze exactly once. One writer per (table, partition)."""

    def __init__(
        self,
        settings: Settings,
        topic_key: str,
        *,
        max_commit_attempts: int = 5,
        clock_us: Callable[[], int] = _wall_clock_us,
    ) -> None:
        self.spec = topic_spec(topic_key)
        self.table = bronze_table(self.spec.key)
        self._events_log = DeltaLog(bronze_table_uri(settings, self.spec.key), settings.lake_storage_options)
        self._dlq_log = DeltaLog(bronze_table_uri(settings, DLQ_TABLE.topic_key), settings.lake_storage_options)
        self._bounds = EventTimeBounds(max_ahead_ms=round(settings.bronze_event_time_max_ahead_days * DAY_MS),
                                       max_behind_ms=round(settings.bronze_event_time_max_behind_days * DAY_MS))
        self._max_attempts = max_commit_attempts
        self._clock_us = clock_us

    @property
    def events_uri(self) -> str:
        return self._events_log.uri

    def plan(self, records: Iterable[KafkaRecord]) -> BatchPlan:
        """Classify `records` and drop those already committed to their table."""
        decoded: list[Decoded] = []
        rejected: list[Rejected] = []
        for record in records:
            outcome = classify(record, self.spec, bounds=self._bounds)
            (decoded if isinstance(outcome, Decoded) else rejected).append(outcome)
        plan = BatchPlan(_Pending(self.table, self._events_log, decoded), _Pending(DLQ_TABLE, self._dlq_log, rejected), self._clock_us())
        for pending in (plan.events, plan.dead):
            if pending.rows:
                pending.drop_committed()
        return plan

    def commit(self, plan: BatchPlan) -> BatchResult:
        """Append the plan's event rows, then its dead letters, each in one Delta commit."""
        started = time.perf_counter()
        commits = self._commit(plan.events, lambda rows: event_table(self.spec.key, rows, plan.ingestion_time_us))
        commits += self._commit(plan.dead, lambda rows: dead_letter_table(rows, plan.ingestion_time_us))
        error_types: dict[str, int] = {}
        for row in plan.dead.rows:
            error_types[row.error_type] = error_types.get(row.error_type, 0) + 1
        return BatchResult(
            written=len(plan.events.rows),
            dead_lettered=len(plan.dead.rows),
            skipped=plan.events.skipped + plan.dead.skipped,
            commits=commits,
            commit_seconds=time.perf_counter() - started,
            error_types=error_types,
        )

    def write(self, records: Iterable[KafkaRecord]) -> BatchResult:
        """plan + commit, for callers without a DLQ topic (file loads, tests, benchmarks)."""
        return self.commit(self.plan(records))

    def _commit(self, pending: _Pending[Row], build: Callable[[list[Row]], pa.Table]) -> int:
        for attempt in range(1, self._max_attempts + 1):
            if not pending.rows:
                return 0
            try:
                if not pending.log.has_snapshot:
                    pending.log.create_if_missing(arrow_schema(pending.table.topic_key), pending.table.partition_by)
                    pending.drop_committed()  # another writer may have committed since `plan`
                if not pending.rows:
                    return 0
                pending.log.append(build(pending.rows), pending.table.partition_by, pending.transactions())
                return 1
            except (CommitFailedError, DeltaError) as exc:
                # A concurrent commit won (or the outcome is unknown): re-read versions so rows that
                # did land are not written twice, then try again.
                log.warning("bronze commit to %s failed (attempt %d/%d): %s", pending.log.uri, attempt, self._max_attempts, exc)
                pending.drop_committed()
        raise BronzeCommitError(
            f"could not commit {len(pending.rows)} rows to {pending.log.uri} after {self._max_attempts} attempts; "
            "the batch is not acknowledged and will be re-delivered — check the lake is reachable and writable"
        )
