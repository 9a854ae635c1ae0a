"""Load a simulation JSONL file into bronze through the same exactly-once writer as the stream.

Each line is `{"schema": <schema name>, "key": <key or null>, "value": <record>}` ("key" may be left
out: the record's catalog key field is used). A line becomes a
synthetic Kafka record on partition 0 of its catalog topic, offset = line number (0-based), broker
timestamp = the event's own event_time (there was no broker; it keeps the event-time check
meaningful for simulated dates). Values are Avro-encoded with the codec, so `raw_value` is real and
invalid lines go to the DLQ table like on the stream. Loading the same file twice writes nothing
the second time (the offsets are already committed).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.settings import Settings
from lakehouse.bronze.exceptions import BronzeError
from lakehouse.bronze.validation import KafkaRecord
from lakehouse.bronze.writer import BatchResult, BronzeWriter
from schemas.catalog import topic_for_schema
from schemas.codec import EncodeError, encode

__all__ = ["LoadSummary", "write_jsonl_to_bronze"]

DEFAULT_CHUNK_RECORDS = 100_000


@dataclass
class LoadSummary:
    lines: int = 0
    written: dict[str, int] = field(default_factory=dict)
    dead_lettered: int = 0
    skipped: int = 0
    commits: int = 0

    def add(self, topic_key: str, result: BatchResult) -> None:
        self.written[topic_key] = self.written.get(topic_key, 0) + result.written
        self.dead_lettered += result.dead_lettered
        self.skipped += result.skipped
        self.commits += result.commits


def _records(settings: Settings, path: Path) -> Iterator[tuple[str, KafkaRecord]]:
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
                partition=0,
                offset=number,
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
    writers: dict[str, BronzeWriter] = {}
    pending: dict[str, list[KafkaRecord]] = defaultdict(list)
    summary = LoadSummary()

    def flush(topic_key: str) -> None:
        writer = writers.get(topic_key) or writers.setdefault(topic_key, BronzeWriter(settings, topic_key))
        summary.add(topic_key, writer.write(pending.pop(topic_key)))

    for topic_key, record in _records(settings, path):
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
