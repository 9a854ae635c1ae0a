"""The bronze table contract: where each table lives and its exact Arrow schema.

One Delta table per catalog topic with a value schema, at `{lake_uri}/bronze/{topic key with '-'
replaced by '_'}`, plus the DLQ table at `{lake_uri}/bronze/dlq`. Event tables carry the Kafka
coordinates, the original Avro bytes, the ingestion time, every field of the topic's current Avro
schema (records are resolved to it on decode) and the `event_date` partition column. dbt sources,
Great Expectations suites and the writer all read this module; nothing else declares these schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

import pyarrow as pa

from core.settings import Settings
from schemas.catalog import CATALOG, topic_spec
from schemas.codec import registry

__all__ = [
    "BRONZE_TABLES",
    "DLQ_TABLE",
    "EVENT_TABLES",
    "KAFKA_COLUMNS",
    "BronzeTable",
    "arrow_schema",
    "avro_field_names",
    "bronze_table_uri",
]

TIMESTAMP_MS_UTC = pa.timestamp("ms", tz="UTC")
TIMESTAMP_US_UTC = pa.timestamp("us", tz="UTC")

# Kafka coordinates every bronze row (event or dead letter) starts with.
KAFKA_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("kafka_topic", pa.string(), nullable=False),
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("kafka_timestamp", TIMESTAMP_MS_UTC, nullable=False),
    pa.field("kafka_key", pa.string(), nullable=True),
)

_PRIMITIVES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "double": pa.float64(),
    "float": pa.float32(),
    "int": pa.int32(),
    "long": pa.int64(),
    "boolean": pa.bool_(),
    "bytes": pa.binary(),
}


@dataclass(frozen=True)
class BronzeTable:
    """One bronze Delta table. `topic_key` is the catalog key; `schema_name` is None for the DLQ."""

    topic_key: str
    table_name: str
    schema_name: str | None
    partition_by: tuple[str, ...]

    @property
    def is_dlq(self) -> bool:
        return self.schema_name is None


def _table_name(topic_key: str) -> str:
    return topic_key.replace("-", "_")


def _build_tables() -> Mapping[str, BronzeTable]:
    tables: dict[str, BronzeTable] = {}
    for spec in CATALOG:
        if spec.value_schema is not None:
            tables[spec.key] = BronzeTable(spec.key, _table_name(spec.key), spec.value_schema, ("event_date",))
    tables["dlq"] = BronzeTable("dlq", "dlq", None, ("ingestion_date",))
    return MappingProxyType(tables)


BRONZE_TABLES: Mapping[str, BronzeTable] = _build_tables()
"""Every bronze table by catalog topic key, the DLQ table (key "dlq") included."""

EVENT_TABLES: tuple[BronzeTable, ...] = tuple(t for t in BRONZE_TABLES.values() if not t.is_dlq)
DLQ_TABLE: BronzeTable = BRONZE_TABLES["dlq"]


def bronze_table(topic_key: str) -> BronzeTable:
    """The bronze table of a catalog topic (short key `trips` or Kafka name `rideshare.trips`)."""
    key = topic_spec(topic_key).key
    try:
        return BRONZE_TABLES[key]
    except KeyError:
        raise KeyError(f"topic {key!r} has no bronze table (it carries no value schema)") from None


def bronze_table_uri(settings: Settings, topic_key: str) -> str:
    """`{lake_uri}/bronze/{table}`; works the same for a local folder and an s3:// URI."""
    return f"{settings.lake_uri.rstrip('/')}/bronze/{bronze_table(topic_key).table_name}"


def _arrow_type(avro_type: Any, named: dict[str, pa.DataType]) -> tuple[pa.DataType, bool]:
    """(Arrow type, nullable) of an Avro type; `named` collects enum/record names seen so far."""
    if isinstance(avro_type, list):
        branches = [branch for branch in avro_type if branch != "null"]
        if len(branches) != 1:
            raise TypeError(f"bronze maps only [null, X] unions, not {avro_type!r}")
        arrow, _ = _arrow_type(branches[0], named)
        return arrow, "null" in avro_type
    if isinstance(avro_type, str):
        if avro_type in _PRIMITIVES:
            return _PRIMITIVES[avro_type], False
        return named[avro_type], False  # reference to an enum declared earlier in the schema
    kind = avro_type["type"]
    if kind == "long" and avro_type.get("logicalType") == "timestamp-millis":
        return TIMESTAMP_MS_UTC, False
    if kind == "enum":
        named[avro_type["name"]] = pa.string()
        return pa.string(), False
    if kind == "array":
        item, _ = _arrow_type(avro_type["items"], named)
        return pa.list_(item), False
    if kind in _PRIMITIVES:
        return _PRIMITIVES[kind], False
    raise TypeError(f"bronze has no Arrow mapping for Avro type {avro_type!r}")


def _event_schema(schema_name: str) -> pa.Schema:
    named: dict[str, pa.DataType] = {}
    fields = list(KAFKA_COLUMNS)
    fields.append(pa.field("raw_value", pa.binary(), nullable=False))
    fields.append(pa.field("ingestion_time", TIMESTAMP_US_UTC, nullable=False))
    for avro_field in registry().schema(schema_name).source["fields"]:
        arrow, nullable = _arrow_type(avro_field["type"], named)
        fields.append(pa.field(avro_field["name"], arrow, nullable=nullable))
    fields.append(pa.field("event_date", pa.date32(), nullable=False))
    return pa.schema(fields)


_DLQ_SCHEMA = pa.schema([
    *KAFKA_COLUMNS,
    pa.field("raw_value", pa.binary(), nullable=True),
    pa.field("error_type", pa.string(), nullable=False),
    pa.field("error_message", pa.string(), nullable=False),
    pa.field("ingestion_time", TIMESTAMP_US_UTC, nullable=False),
    pa.field("ingestion_date", pa.date32(), nullable=False),
])


@cache
def arrow_schema(topic_key: str) -> pa.Schema:
    """The exact Arrow schema of a bronze table (`dlq` for the dead-letter table)."""
    table = bronze_table(topic_key)
    return _DLQ_SCHEMA if table.schema_name is None else _event_schema(table.schema_name)


@cache
def avro_field_names(topic_key: str) -> tuple[str, ...]:
    """Names of the decoded Avro columns of an event table, in schema order."""
    schema_name = bronze_table(topic_key).schema_name
    if schema_name is None:
        return ()
    return tuple(field["name"] for field in registry().schema(schema_name).source["fields"])
