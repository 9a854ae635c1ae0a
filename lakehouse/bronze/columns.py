"""Build bronze Arrow tables (pure: no I/O, no clock).

Event rows come straight from the decoded columns of `schemas.classify` (polars, converted to Arrow
without a Python object per value); the Kafka coordinates, raw bytes and ingestion time are added
column by column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from lakehouse.bronze.specs import arrow_schema, avro_field_names
from lakehouse.bronze.validation import DAY_MS, KafkaRecord, Rejected

__all__ = ["dead_letter_table", "event_table"]

_US_PER_DAY = DAY_MS * 1000


def _coordinate_columns(records: Sequence[KafkaRecord], keys: Sequence[str | None]) -> list[pa.Array]:
    schema = arrow_schema("dlq")  # the five Kafka columns are typed the same in every bronze table
    return [
        pa.array([r.topic for r in records], type=schema.field("kafka_topic").type),
        pa.array([r.partition for r in records], type=schema.field("kafka_partition").type),
        pa.array([r.offset for r in records], type=schema.field("kafka_offset").type),
        pa.array([r.timestamp_ms for r in records], type=schema.field("kafka_timestamp").type),
        pa.array(keys, type=pa.string()),
    ]


def event_table(topic_key: str, frame: pl.DataFrame, records: Sequence[KafkaRecord], keys: Sequence[str],
                ingestion_time_us: int) -> pa.Table:
    """The bronze rows of decoded events (`frame` row i is the event of `records[i]`), in the table's exact schema."""
    schema = arrow_schema(topic_key)
    columns = _coordinate_columns(records, keys)
    columns.append(pa.array([r.value for r in records], type=pa.binary()))
    columns.append(pa.array(np.full(len(records), ingestion_time_us, dtype=np.int64), type=schema.field("ingestion_time").type))
    decoded = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    for name in avro_field_names(topic_key):
        columns.append(decoded.column(name).cast(schema.field(name).type))
    event_time_ms = frame.get_column("event_time").to_numpy()
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
