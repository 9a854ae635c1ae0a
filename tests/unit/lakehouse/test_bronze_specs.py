from __future__ import annotations

import pyarrow as pa
import pytest

from core.settings import load_settings
from lakehouse.bronze.specs import BRONZE_TABLES, DLQ_TABLE, EVENT_TABLES, arrow_schema, bronze_table_uri
from schemas.catalog import CATALOG
from schemas.codec import registry


def test_every_topic_with_a_value_schema_has_a_bronze_table_and_the_dlq_has_its_own() -> None:
    with_schema = {spec.key for spec in CATALOG if spec.value_schema}
    assert {table.topic_key for table in EVENT_TABLES} == with_schema
    assert DLQ_TABLE.is_dlq and BRONZE_TABLES["dlq"] is DLQ_TABLE


def test_table_uris_follow_the_contract_for_local_and_s3_lakes() -> None:
    local = load_settings(lake_uri="/data/lake/")
    assert bronze_table_uri(local, "driver-status") == "/data/lake/bronze/driver_status"
    assert bronze_table_uri(local, "rideshare.sim-control") == "/data/lake/bronze/sim_control"
    assert bronze_table_uri(local, "dlq") == "/data/lake/bronze/dlq"
    s3 = load_settings(lake_uri="s3://bucket/lake")
    assert bronze_table_uri(s3, "trips") == "s3://bucket/lake/bronze/trips"


def test_event_table_columns_are_kafka_coordinates_raw_bytes_then_avro_fields_then_event_date() -> None:
    schema = arrow_schema("trips")
    avro_names = [f["name"] for f in registry().schema("trip_event").source["fields"]]
    assert schema.names == [
        "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp", "kafka_key",
        "raw_value", "ingestion_time", *avro_names, "event_date",
    ]
    assert schema.field("kafka_partition").type == pa.int32()
    assert schema.field("kafka_timestamp").type == pa.timestamp("ms", tz="UTC")
    assert schema.field("ingestion_time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("event_date").type == pa.date32()


@pytest.mark.parametrize(
    ("topic", "column", "arrow_type", "nullable"),
    [
        ("trips", "event_time", pa.timestamp("ms", tz="UTC"), False),
        ("trips", "event_type", pa.string(), False),  # enum
        ("trips", "cancelled_by", pa.string(), True),  # ["null", enum]
        ("trips", "fare_brl", pa.float64(), True),
        ("trips", "offer_sequence", pa.int32(), True),
        ("driver-status", "new_status", pa.string(), False),  # reference to a named enum
        ("sim-control", "seed", pa.int64(), False),
        ("surge", "window_end", pa.timestamp("ms", tz="UTC"), False),
        ("driver-profiles", "changed_fields", pa.list_(pa.string()), False),
        ("ratings", "stars", pa.int32(), False),
    ],
)
def test_avro_types_map_to_the_contracted_arrow_types(topic: str, column: str, arrow_type: pa.DataType, nullable: bool) -> None:
    field = arrow_schema(topic).field(column)
    assert field.type == arrow_type
    assert field.nullable is nullable


def test_dlq_schema_keeps_raw_bytes_nullable_and_partitions_by_ingestion_date() -> None:
    schema = arrow_schema("dlq")
    assert schema.names == [
        "kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp", "kafka_key",
        "raw_value", "error_type", "error_message", "ingestion_time", "ingestion_date",
    ]
    assert schema.field("raw_value").nullable
    assert DLQ_TABLE.partition_by == ("ingestion_date",)
