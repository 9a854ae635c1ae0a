"""Load a simulation JSONL file into bronze through the same exactly-once writer as the stream.

Each line is `{"schema": <schema name>, "key": <key or null>, "value": <record>}` ("key" may be left
out: the record's catalog key field is used). A line becomes a synthetic Kafka record of its catalog
topic on partition `FILE_PARTITION` (-1: a partition no broker has, so file loads never collide with
records a real Kafka partition delivers), broker timestamp = the event's own event_time (there was no
broker; it keeps the event-time check meaningful for simulated dates). Values are Avro-encoded with
the codec, so `raw_value` is real and invalid lines go to the DLQ table like on the stream.

Offsets are reserved per file: the first load of a file (identified by the SHA-256 of its bytes)
records `(file, offset_base, lines)` in the `{lake}/ops/jsonl_loads` Delta table, with the base above
every offset already reserved or committed, and line N gets offset `offset_base + N`. Loading the same
file again finds its reservation and reuses the same offsets, so the writer skips what is committed:
a second load writes nothing, an interrupted load resumes where it stopped, and a different file
always lands whole.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from core.settings import Settings
from lakehouse.bronze.exceptions import BronzeError
from lakehouse.bronze.specs import DLQ_TABLE, EVENT_TABLES, bronze_table_uri
from lakehouse.bronze.validation import KafkaRecord
from lakehouse.bronze.writer import BatchResult, BronzeWriter, app_id
from schemas.catalog import topic_for_schema, topic_spec
from schemas.codec import EncodeError, encode

__all__ = ["FILE_PARTITION", "FileReservation", "LoadSummary", "reservations_uri", "reserve_offsets", "write_jsonl_to_bronze"]

DEFAULT_CHUNK_RECORDS = 100_000
FILE_PARTITION = -1
"""The synthetic Kafka partition of every file-loaded record (no broker partition is negative)."""

_RESERVATIONS_SCHEMA = pa.schema([
    pa.field("file_sha256", pa.string(), nullable=False),
    pa.field("file_name", pa.string(), nullable=False),
    pa.field("lines", pa.int64(), nullable=False),
    pa.field("offset_base", pa.int64(), nullable=False),
    pa.field("reserved_at", pa.timestamp("us", tz="UTC"), nullable=False),
])


@dataclass
class LoadSummary:
    lines: int = 0
    written: dict[str, int] = field(default_factory=dict)
    dead_lettered: int = 0
    skipped: int = 0
    commits: int = 0
    offset_base: int = 0
    reused_reservation: bool = False

    def add(self, topic_key: str, result: BatchResult) -> None:
        self.written[topic_key] = self.written.get(topic_key, 0) + result.written
        self.dead_lettered += result.dead_lettered
        self.skipped += result.skipped
        self.commits += result.commits

    @property
    def total_written(self) -> int:
        return sum(self.written.values())


@dataclass(frozen=True)
class FileReservation:
    """The offsets of one file: line N (0-based) is offset `offset_base + N` on FILE_PARTITION."""

    file_sha256: str
    lines: int
    offset_base: int
    reused: bool


def reservations_uri(settings: Settings) -> str:
    return f"{settings.lake_uri.rstrip('/')}/ops/jsonl_loads"


def _digest_and_count(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1  # a last line without its newline still takes an offset
    return digest.hexdigest(), lines


def _committed_end(settings: Settings) -> int:
    """One past the highest offset committed on FILE_PARTITION for any topic, in its event table or the DLQ."""
    options = settings.lake_storage_options or None
    try:
        dlq: DeltaTable | None = DeltaTable(bronze_table_uri(settings, DLQ_TABLE.topic_key), storage_options=options)
    except TableNotFoundError:
        dlq = None
    highest = -1
    for table in EVENT_TABLES:
        writer = BronzeWriter(settings, table.topic_key)
        writer.refresh()
        topic = topic_spec(table.topic_key).qualified(settings.topic_namespace)
        versions = [writer.committed_offset(topic, FILE_PARTITION)]
        if dlq is not None:
            versions.append(dlq.transaction_version(app_id(DLQ_TABLE, topic, FILE_PARTITION, writer.generation)))
        highest = max([highest, *(version for version in versions if version is not None)])
    return highest + 1


def reserve_offsets(settings: Settings, path: Path) -> FileReservation:
    """The file's offset range: its earlier reservation, or a new one above everything reserved or committed."""
    sha, lines = _digest_and_count(path)
    options = settings.lake_storage_options or None
    uri = reservations_uri(settings)
    try:
        existing = DeltaTable(uri, storage_options=options).to_pandas()
    except TableNotFoundError:
        existing = None
    if existing is not None and not existing.empty:
        mine = existing[existing["file_sha256"] == sha]
        if not mine.empty:
            return FileReservation(sha, lines, int(mine["offset_base"].iloc[0]), reused=True)
        reserved_end = int((existing["offset_base"] + existing["lines"]).max())
    else:
        reserved_end = 0
    base = max(reserved_end, _committed_end(settings))
    row = pa.Table.from_pylist([{"file_sha256": sha, "file_name": path.name, "lines": lines, "offset_base": base,
                                 "reserved_at": datetime.now(UTC)}], schema=_RESERVATIONS_SCHEMA)
    write_deltalake(uri, row, mode="append", storage_options=options)
    return FileReservation(sha, lines, base, reused=False)


def _records(settings: Settings, path: Path, offset_base: int) -> Iterator[tuple[str, KafkaRecord]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                spec = topic_for_schema(item["schema"])
                value: dict[str, Any] = item["value"]
                raw = encode(item["schema"], value)
            except (json.JSONDecodeError, KeyError, TypeError, EncodeError) as exc:
                raise BronzeError(f"{path}:{number + 1}: not a simulation event line ({exc}); "
                                  'expected {"schema": ..., "key": ..., "value": {...}}') from exc
            # A line without "key" is keyed like the producer keys it: by the topic's key field.
            key = item["key"] if "key" in item else value.get(spec.key_field or "")
            yield spec.key, KafkaRecord(
                topic=spec.qualified(settings.topic_namespace),
                partition=FILE_PARTITION,
                offset=offset_base + number,
                timestamp_ms=int(value["event_time"]),
                key=None if key is None else str(key).encode(),
                value=raw,
            )


def write_jsonl_to_bronze(
    settings: Settings,
    jsonl_path: str | Path,
    *,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    on_progress: Callable[[int], None] | None = None,
) -> LoadSummary:
    """Write every line of `jsonl_path` into its bronze table; commits every `chunk_records` per topic."""
    path = Path(jsonl_path)
    if not path.is_file():
        raise BronzeError(f"{path} does not exist; write one with the simulation's JSONL sink first")
    reservation = reserve_offsets(settings, path)
    writers: dict[str, BronzeWriter] = {}
    pending: dict[str, list[KafkaRecord]] = defaultdict(list)
    summary = LoadSummary(offset_base=reservation.offset_base, reused_reservation=reservation.reused)

    def flush(topic_key: str) -> None:
        writer = writers.get(topic_key) or writers.setdefault(topic_key, BronzeWriter(settings, topic_key))
        summary.add(topic_key, writer.write(pending.pop(topic_key)))

    for topic_key, record in _records(settings, path, reservation.offset_base):
        pending[topic_key].append(record)
        summary.lines += 1
        if len(pending[topic_key]) >= chunk_records:
            flush(topic_key)
        if on_progress is not None and summary.lines % 10_000 == 0:
            on_progress(summary.lines)
    for topic_key in list(pending):
        flush(topic_key)
    if on_progress is not None:
        on_progress(summary.lines)
    return summary
