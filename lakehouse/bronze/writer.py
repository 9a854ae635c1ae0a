"""The exactly-once bronze writer: one topic's records to its event table and the DLQ table.

Every commit carries one Delta application transaction per Kafka partition in the batch,
`app_id = "{table}:{topic}:{partition}"`, `version = the batch's last offset on that partition`.
Before writing, the writer reads the committed versions and drops records at or below them, so a
re-delivered batch (a worker killed after the Delta commit but before its Kafka offsets were
committed) is skipped. delta-rs does not reject a lower version by itself; the read-then-skip check
here is what makes re-delivery safe, and a commit that races another commit carrying the same app id
fails in Delta's conflict check and is retried after re-reading the versions.

Routing is the platform's one classification (`schemas.classify`) plus the shared event-time clock
(`schemas.event_clock`): an event far ahead of its partition's clock (per run) is dead-lettered as
`event_time_outlier`, so it can never drag silver's incremental watermark into the future. The clock
is state, so it is committed with the data it depends on and routing stays deterministic on
re-delivery: the event table's commit carries each run's clock after the batch (app id
`"{table}:{topic}:{partition}:clock:{run}"`, version = watermark ms), and the dead letters are
committed *first*, carrying each run's clock as it was before the batch. A crash between the two
commits re-delivers the batch from the same clock, so every record is routed as it was the first time.

Usage follows the sink contract: `plan(records)` (classify, drop what is already committed) → publish
`plan.dead_letters` to the DLQ topic if there is one → `commit(plan)`; acknowledge the Kafka offsets
only after `commit` returns. Failures are classified: `BronzeTransientError` (the lake is unreachable
or full, a commit kept conflicting) means retry the same batch later; a permanent failure of the
event rows (their schema cannot be appended to the table) dead-letters them with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Schema, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from core.settings import Settings
from lakehouse.bronze.columns import dead_letter_table, event_table
from lakehouse.bronze.exceptions import BronzeTransientError, OffsetDiscontinuityError
from lakehouse.bronze.specs import DLQ_TABLE, BronzeTable, arrow_schema, bronze_table, bronze_table_uri
from lakehouse.bronze.validation import DAY_MS, EventTimeBounds, KafkaRecord, Rejected
from schemas.catalog import topic_spec
from schemas.classify import classify_batch
from schemas.event_clock import RunClock, initial_watermark
from schemas.markers import parse_marker, run_keys

__all__ = ["BatchPlan", "BatchResult", "BronzeWriter", "app_id", "clock_app_id"]

log = logging.getLogger(__name__)

Row = TypeVar("Row")


TOPIC_ID_PROPERTY = "rideshare.kafka_topic_id"
GENERATION_PROPERTY = "rideshare.generation"


def app_id(table: BronzeTable, topic: str, partition: int, generation: int = 0) -> str:
    """The Delta application-transaction id of one (table, Kafka topic, partition) in an ingestion generation.

    A new generation (`start_new_generation`) re-ingests a topic whose offsets restarted: its ids are new."""
    suffix = f"@g{generation}" if generation else ""
    return f"{table.table_name}:{topic}{suffix}:{partition}"


def clock_app_id(table: BronzeTable, topic: str, partition: int, run: str, generation: int = 0) -> str:
    """The application-transaction id that holds one run's event-time clock on one partition."""
    return f"{app_id(table, topic, partition, generation)}:clock:{run}"


def _looks_like_io(exc: Exception) -> bool:
    """delta-rs reports storage failures (disk full, permissions, an object store down) as DeltaError text."""
    text = str(exc).lower()
    return any(word in text for word in ("io error", "os {", "os error", "no space", "disk", "directory", "permission",
                                         "connection", "timed out", "object store", "storage", "not found", "broken pipe",
                                         "unavailable"))


def _wall_clock_us() -> int:
    return time.time_ns() // 1000


RELOAD_AFTER_VERSIONS = 100
"""A snapshot brought up to date commit by commit grows by every commit it took in (about 70 KB each, a
worker's memory climbing for as long as it runs); loaded afresh it starts from the last checkpoint, which
Delta writes every 100 versions by default."""


class DeltaLog:
    """One Delta table: committed app-transaction versions and appends (opened lazily)."""

    def __init__(self, uri: str, storage_options: dict[str, str]) -> None:
        self.uri = uri
        self._storage_options = storage_options or None
        self._table: DeltaTable | None = None
        self._loaded_version = 0

    def refresh(self) -> None:
        """See commits made since the last look (by this or any other writer)."""
        if self._table is not None:
            self._table.update_incremental()
            if self._table.version() - self._loaded_version < RELOAD_AFTER_VERSIONS:
                return
        try:
            self._table = DeltaTable(self.uri, storage_options=self._storage_options)
            self._loaded_version = self._table.version()
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
        self._loaded_version = self._table.version()

    def committed_version(self, app: str) -> int | None:
        return None if self._table is None else self._table.transaction_version(app)

    def properties(self) -> dict[str, str]:
        return {} if self._table is None else dict(self._table.metadata().configuration)

    def set_properties(self, properties: dict[str, str], transactions: list[Transaction] | None = None) -> None:
        """Set table properties, with app transactions in the same commit (creates nothing: the table must exist)."""
        assert self._table is not None
        self._table.alter.set_table_properties(properties, raise_if_not_exists=False,
                                               commit_properties=CommitProperties(app_transactions=transactions or []))

    def column_types(self) -> dict[str, str] | None:
        """The table's columns and their Delta types (None before it exists)."""
        return None if self._table is None else {f.name: str(f.type) for f in self._table.schema().fields}

    def append(self, data: pa.Table, partition_by: Sequence[str], transactions: list[Transaction], *,
               merge_schema: bool = False) -> None:
        write_deltalake(
            self._table if self._table is not None else self.uri,
            data,
            mode="append",
            partition_by=list(partition_by),
            storage_options=self._storage_options,
            commit_properties=CommitProperties(app_transactions=transactions),
            schema_mode="merge" if merge_schema else None,
        )


@dataclass
class _Pending(Generic[Row]):
    """Rows bound for one table with the app transactions their commit carries."""

    table: BronzeTable
    log: DeltaLog
    rows: list[Row]
    versions: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> last offset
    clocks: dict[tuple[str, int, str], int] = field(default_factory=dict)  # (topic, partition, run) -> watermark
    generation: int = 0

    def transactions(self) -> list[Transaction]:
        offsets = [Transaction(app_id=app_id(self.table, topic, partition, self.generation), version=offset)
                   for (topic, partition), offset in self.versions.items()]
        clocks = [Transaction(app_id=clock_app_id(self.table, topic, partition, run, self.generation), version=watermark)
                  for (topic, partition, run), watermark in self.clocks.items()]
        return offsets + clocks


@dataclass(frozen=True)
class EventRows:
    """Decoded events of one partition bound for the event table: `decoded` row i is `records[i]`."""

    decoded: pl.DataFrame
    records: list[KafkaRecord]
    keys: list[str]

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class BatchPlan:
    """What a batch will write: new event rows and new dead letters (already-committed ones dropped)."""

    events: _Pending[EventRows]
    dead: _Pending[Rejected]
    ingestion_time_us: int
    skipped: int
    markers: int

    @property
    def dead_letters(self) -> list[Rejected]:
        """Dead letters not yet in the DLQ table: publish these to the DLQ topic before `commit`."""
        return self.dead.rows

    @property
    def event_count(self) -> int:
        return sum(len(rows) for rows in self.events.rows)


@dataclass(frozen=True)
class BatchResult:
    written: int
    dead_lettered: int
    skipped: int
    commits: int
    commit_seconds: float
    error_types: dict[str, int] = field(default_factory=dict)
    markers: int = 0


class BronzeWriter:
    """Writes one catalog topic's records to bronze exactly once. One writer per (table, partition)."""

    def __init__(self, settings: Settings, topic_key: str, *, max_commit_attempts: int = 5,
                 clock_us: Callable[[], int] = _wall_clock_us) -> None:
        self.spec = topic_spec(topic_key)
        self.table = bronze_table(self.spec.key)
        self._events_log = DeltaLog(bronze_table_uri(settings, self.spec.key), settings.lake_storage_options)
        self._dlq_log = DeltaLog(bronze_table_uri(settings, DLQ_TABLE.topic_key), settings.lake_storage_options)
        self._bounds = EventTimeBounds(max_ahead_ms=round(settings.bronze_event_time_max_ahead_days * DAY_MS),
                                       max_behind_ms=round(settings.bronze_event_time_max_behind_days * DAY_MS))
        self._skew_ms = settings.bronze_event_time_skew_ms
        self._max_attempts = max_commit_attempts
        self._clock_us = clock_us

    @property
    def events_uri(self) -> str:
        return self._events_log.uri

    @property
    def generation(self) -> int:
        """The ingestion generation of this topic (0 until a topic whose offsets restarted is re-ingested)."""
        return int(self._events_log.properties().get(GENERATION_PROPERTY, "0"))

    def committed_offset(self, topic: str, partition: int) -> int | None:
        """The last offset of `topic`/`partition` committed to the event table (from the last refresh)."""
        return self._events_log.committed_version(app_id(self.table, topic, partition, self.generation))

    def refresh(self) -> None:
        self._events_log.refresh()
        self._dlq_log.refresh()

    def check_continuity(self, topic: str, topic_id: str | None, high_watermarks: dict[int, int]) -> bool:
        """Raise OffsetDiscontinuityError when the topic's offsets no longer continue what bronze committed:
        the topic was recreated (another Kafka topic id) or a partition ends below its committed offset.

        Binds the table to the topic's id once the table exists; returns whether it is bound."""
        self.refresh()
        bound = self._events_log.properties().get(TOPIC_ID_PROPERTY)
        if topic_id is not None and bound is not None and bound != topic_id:
            raise OffsetDiscontinuityError(
                f"{topic} was recreated (Kafka topic id {topic_id}, bronze holds topic {bound}): its offsets restarted, so "
                f"bronze stopped ingesting it. Run `rideshare lakehouse rebase {self.spec.key} --new-generation` to ingest "
                f"the new topic in full, or `--from latest` to ingest only what arrives from now on")
        for partition, high in high_watermarks.items():
            committed = self.committed_offset(topic, partition)
            if committed is not None and high <= committed:
                raise OffsetDiscontinuityError(
                    f"{topic} partition {partition} ends at offset {high} but bronze already committed up to {committed}: "
                    f"the topic's offsets were reset, so bronze stopped ingesting it. Run `rideshare lakehouse rebase "
                    f"{self.spec.key} --new-generation` (ingest it again under new ids) or `--from latest`")
        if topic_id is not None and bound is None and self._events_log.has_snapshot:
            self._events_log.set_properties({TOPIC_ID_PROPERTY: topic_id})
            bound = topic_id
        return bound is not None

    def rebase(self, topic: str, topic_id: str | None, *, new_generation: bool, next_offsets: dict[int, int]) -> int:
        """Continue ingesting `topic` after an offset discontinuity; returns the generation ingested from now on.

        `new_generation`: ingest every record of the topic again under new app ids (silver de-duplicates
        by event id). Otherwise treat every offset below `next_offsets[partition]` as ingested."""
        self.refresh()
        if not self._events_log.has_snapshot:
            self._events_log.create_if_missing(arrow_schema(self.spec.key), self.table.partition_by)
        generation = self.generation + 1 if new_generation else self.generation
        transactions = [] if new_generation else [
            Transaction(app_id=app_id(self.table, topic, partition, generation), version=offset - 1)
            for partition, offset in next_offsets.items() if offset > 0]
        properties = {GENERATION_PROPERTY: str(generation)}
        if topic_id is not None:
            properties[TOPIC_ID_PROPERTY] = topic_id
        self._events_log.set_properties(properties, transactions)
        return generation

    # ---- planning

    def plan(self, records: Iterable[KafkaRecord]) -> BatchPlan:
        """Classify `records` and drop those already committed to their table."""
        self.refresh()
        by_partition: dict[tuple[str, int], list[KafkaRecord]] = {}
        for record in records:
            by_partition.setdefault((record.topic, record.partition), []).append(record)
        events: list[EventRows] = []
        dead: list[Rejected] = []
        versions: dict[tuple[str, int], int] = {}
        end_clocks: dict[tuple[str, int, str], int] = {}
        start_clocks: dict[tuple[str, int, str], int] = {}
        skipped = markers = 0
        generation = self.generation
        for (topic, partition), group in by_partition.items():
            committed = self.committed_offset(topic, partition)
            fresh = [r for r in group if committed is None or r.offset > committed]
            skipped += len(group) - len(fresh)
            if not fresh:
                continue
            versions[(topic, partition)] = max(r.offset for r in fresh)
            data = []
            for record in fresh:
                if record.value is None and parse_marker(record.headers) is not None:
                    markers += 1  # a lockstep step marker: control, not data
                else:
                    data.append(record)
            rows, rejected = self._route(topic, partition, data, start_clocks, end_clocks)
            if rows is not None:
                events.append(rows)
            dlq_committed = self._dlq_log.committed_version(app_id(DLQ_TABLE, topic, partition, generation))
            kept = [r for r in rejected if dlq_committed is None or r.record.offset > dlq_committed]
            skipped += len(rejected) - len(kept)
            dead.extend(kept)
        plan = BatchPlan(_Pending(self.table, self._events_log, events, dict(versions), end_clocks, generation),
                         _Pending(DLQ_TABLE, self._dlq_log, dead, dict(versions), start_clocks, generation),
                         self._clock_us(), skipped, markers)
        return plan

    def _route(self, topic: str, partition: int, records: list[KafkaRecord], start_clocks: dict[tuple[str, int, str], int],
               end_clocks: dict[tuple[str, int, str], int]) -> tuple[EventRows | None, list[Rejected]]:
        """Classify one partition's new records: (event rows, rejected) — clock outliers included."""
        if not records:
            return None, []
        classified = classify_batch(self.spec, [r.key for r in records], [r.value for r in records],
                                    [r.timestamp_ms for r in records], bounds=self._bounds)
        rejected = [Rejected(records[r.position], r.error_type, r.error_message) for r in classified.rejections]
        frame = classified.frame
        if not len(classified):
            return None, rejected
        sessions = frame.get_column("session_id").to_list()
        runs = run_keys(sessions, [records[p].headers for p in classified.positions])
        event_times = frame.get_column("event_time").to_list()
        admitted = [True] * len(runs)
        for run in dict.fromkeys(runs):
            indices = [i for i, r in enumerate(runs) if r == run]
            start = self._committed_clock(topic, partition, run)
            clock = RunClock(self._skew_ms, start, neighbours=False)
            if start is None:
                clock.watermark = initial_watermark([event_times[i] for i in indices])
            start_clocks[(topic, partition, run)] = clock.watermark  # type: ignore[assignment]  # set just above
            for index, ok in zip(indices, clock.admit([event_times[i] for i in indices]), strict=True):
                if not ok:
                    admitted[index] = False
                    rejected.append(Rejected(records[classified.positions[index]], "event_time_outlier",
                                             f"event_time {event_times[index]} is {(event_times[index] - clock.watermark) / 3_600_000:.1f} "  # type: ignore[operator]
                                             f"h ahead of partition {partition}'s clock for run {run} "
                                             f"(limit {self._skew_ms / 3_600_000:g} h)"))
            end_clocks[(topic, partition, run)] = clock.watermark  # type: ignore[assignment]  # int after admit
        rejected.sort(key=lambda r: r.record.offset)
        keep = [i for i, ok in enumerate(admitted) if ok]
        if not keep:
            return None, rejected
        kept_frame = frame[keep] if len(keep) < len(admitted) else frame
        return EventRows(kept_frame, [records[classified.positions[i]] for i in keep],
                         [classified.keys[i] for i in keep]), rejected

    def _committed_clock(self, topic: str, partition: int, run: str) -> int | None:
        """The run's clock as the last commits left it: after the last event commit, else as the dead
        letters of an interrupted batch recorded it before that batch."""
        generation = self.generation
        clock = self._events_log.committed_version(clock_app_id(self.table, topic, partition, run, generation))
        if clock is None:
            clock = self._dlq_log.committed_version(clock_app_id(DLQ_TABLE, topic, partition, run, generation))
        return clock

    # ---- committing

    def commit(self, plan: BatchPlan, dead_letter_events: str | None = None) -> BatchResult:
        """Append the plan's dead letters, then its event rows, each in one Delta commit.

        `dead_letter_events`: a permanent failure of the event rows (they are dead-lettered with it)."""
        started = time.perf_counter()
        dead_rows = plan.dead.rows
        events_table: pa.Table | None = None
        merge_schema = False
        if plan.events.rows:
            events_table = pa.concat_tables([event_table(self.spec.key, rows.decoded, rows.records, rows.keys, plan.ingestion_time_us)
                                             for rows in plan.events.rows])
            problem, merge_schema = self._schema_fit(events_table.schema)
            problem = dead_letter_events or problem
            if problem is not None:  # permanent: retrying cannot fix it, so the rows are dead-lettered with the reason
                log.error("bronze %s: %d events dead-lettered: %s", self.table.table_name, events_table.num_rows, problem)
                error_type = "delta_commit_failed" if dead_letter_events else "delta_schema_mismatch"
                dead_rows = sorted([*dead_rows, *(Rejected(record, error_type, problem)
                                                  for rows in plan.events.rows for record in rows.records)],
                                   key=lambda row: (row.record.partition, row.record.offset))
                events_table = None
        commits = 0
        skipped = plan.skipped
        if dead_rows:
            commits += self._commit(plan.dead, dead_letter_table(dead_rows, plan.ingestion_time_us))
        if events_table is not None:
            if merge_schema:  # existing rows have no value for a new column: it must be nullable
                known = self._events_log.column_types() or {}
                events_table = events_table.cast(pa.schema([f if f.name in known else f.with_nullable(True) for f in events_table.schema]))
            if self._commit(plan.events, events_table, merge_schema=merge_schema):
                commits += 1
            else:  # another delivery of the same batch won the race: nothing of it is written twice
                skipped += events_table.num_rows
                events_table = None
        error_types: dict[str, int] = {}
        for row in dead_rows:
            error_types[row.error_type] = error_types.get(row.error_type, 0) + 1
        return BatchResult(
            written=0 if events_table is None else events_table.num_rows,
            dead_lettered=len(dead_rows),
            skipped=skipped,
            commits=commits,
            commit_seconds=time.perf_counter() - started,
            error_types=error_types,
            markers=plan.markers,
        )

    def write(self, records: Iterable[KafkaRecord]) -> BatchResult:
        """plan + commit, for callers without a DLQ topic (file loads, tests, benchmarks)."""
        return self.commit(self.plan(records))

    def _schema_fit(self, schema: pa.Schema) -> tuple[str | None, bool]:
        """(why rows of `schema` cannot be appended to the event table or None, whether new columns are merged in).

        New columns (an Avro field added with a default) are merged into the table; a column the
        rows lack or whose type changed is an incompatible schema change."""
        existing = self._events_log.column_types()
        if existing is None:
            return None, False
        incoming = {f.name: str(f.type) for f in Schema.from_arrow(schema).fields}
        missing = [name for name in existing if name not in incoming]
        changed = [name for name, kind in existing.items() if name in incoming and incoming[name] != kind]
        if missing or changed:
            return (f"the decoded events do not fit the Delta table {self._events_log.uri}: columns missing {missing}, "
                    f"types changed {changed} (an incompatible schema change: re-ingest under a new generation)"), False
        return None, any(name not in existing for name in incoming)

    def _commit(self, pending: _Pending[Row], data: pa.Table, *, merge_schema: bool = False) -> int:
        for attempt in range(1, self._max_attempts + 1):
            try:
                if not pending.log.has_snapshot:
                    pending.log.create_if_missing(arrow_schema(pending.table.topic_key), pending.table.partition_by)
                    if self._already_committed(pending):
                        return 0
                pending.log.append(data, pending.table.partition_by, pending.transactions(), merge_schema=merge_schema)
                return 1
            except CommitFailedError as exc:
                # A concurrent commit won (or the outcome is unknown): re-read versions so a batch that
                # did land is not written twice, then try again.
                log.warning("bronze commit to %s conflicted (attempt %d/%d): %s", pending.log.uri, attempt, self._max_attempts, exc)
                pending.log.refresh()
                if self._already_committed(pending):
                    return 0
            except OSError as exc:
                raise BronzeTransientError(
                    f"could not commit {data.num_rows} rows to {pending.log.uri}: {exc}; the batch is not acknowledged "
                    "and is retried — check the lake is reachable and writable", lake_unreachable=True) from exc
            except DeltaError as exc:
                raise BronzeTransientError(
                    f"could not commit {data.num_rows} rows to {pending.log.uri}: {exc}; the batch is not acknowledged "
                    "and is retried", lake_unreachable=_looks_like_io(exc)) from exc
        raise BronzeTransientError(
            f"could not commit {data.num_rows} rows to {pending.log.uri} after {self._max_attempts} conflicting attempts; "
            "the batch is not acknowledged and is retried")

    @staticmethod
    def _already_committed(pending: _Pending[Row]) -> bool:
        """True when every partition of the batch is already committed (another delivery won)."""
        for (topic, partition), offset in pending.versions.items():
            committed = pending.log.committed_version(app_id(pending.table, topic, partition, pending.generation))
            if committed is None or committed < offset:
                return False
        return True
