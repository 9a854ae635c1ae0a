"""Build bronze Arrow tables from classified records (pure: no I/O, no clock).

Columns are built one at a time from plain Python lists (`pa.array(values, type=...)`), which is
several times faster than `Table.from_pylist` over row dicts on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from lakehouse.bronze.specs import arrow_schema, avro_field_names
from lakehouse.bronze.validation import DAY_MS, Decoded, KafkaRecord, Rejected

__all__ = ["dead_letter_table", "event_table"]

_US_PER_DAY = DAY_MS * 1000


def _coordinate_columns(records: Sequence[KafkaRecord], keys: list[str | None]) -> list[pa.Array]:
    schema = arrow_schema("dlq")  # the five Kafka columns are typed the same in every bronze table
    return [
        pa.array([r.topic for r in records], type=schema.field("kafka_topic").type),
        pa.array([r.partition for r in records], type=schema.field("kafka_partition").type),
        pa.array([r.offset for r in records], type=schema.field("kafka_offset").type),
        pa.array([r.timestamp_ms for r in records], type=schema.field("kafka_timestamp").type),
        pa.array(keys, type=pa.string()),
    ]


def event_table(topic_key: str, rows: Sequence[Decoded], ingestion_time_us: int) -> pa.Table:
    """The bronze rows of decoded events of `topic_key`, in the table's exact schema."""
    schema = arrow_schema(topic_key)
    records = [row.record for row in rows]
    columns = _coordinate_columns(records, [row.key for row in rows])
    columns.append(pa.array([r.value for r in records], type=pa.binary()))
    columns.append(pa.array(np.full(len(rows), ingestion_time_us, dtype=np.int64), type=schema.field("ingestion_time").type))
    events = [row.event for row in rows]
    for name in avro_field_names(topic_key):
        columns.append(pa.array([event[name] for event in events], type=schema.field(name).type))
    event_time_ms = np.fromiter((event["event_time"] for event in events), dtype=np.int64, count=len(events))
    columns.append(pa.array((event_time_ms // DAY_MS).astype(np.int32), type=pa.date32()))
    return pa.Table.from_arrays(columns, schema=schema)


def dead_letter_table(rows: Sequence[Rejected], ingestion_time_us: int) -> pa.Table:
    """DLQ rows: coordinates, raw bytes, error type and message, ingestion time and date."""
    schema = arrow_schema("dlq")
    columns = _coordinate_columns([row.record for row in rows], [row.key_text for row in rows])
    columns.append(pa.array([row.record.value for row in rows], type=pa.binary()))
    columns.append(pa.array([row.error_type for row in rows], type=pa.string()))
    columns.append(pa.array([row.error_message for row in rows], type=pa.string()))
    columns.append(pa.array(np.full(len(rows), ingestion_time_us, dtype=np.int64), type=schema.field("ingestion_time").type))
    columns.append(pa.array(np.full(len(rows), ingestion_time_us // _US_PER_DAY, dtype=np.int32), type=pa.date32()))
    return pa.Table.from_arrays(columns, schema=schema)
