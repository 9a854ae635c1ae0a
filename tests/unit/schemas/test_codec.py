"""The Avro single-object codec: spec-exact framing, round trips, evolution, and clear decode errors."""

from __future__ import annotations

import json
import struct

import pytest
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.codec import HEADER_LENGTH, MAGIC, DecodeError, EncodeError, SchemaRegistry, crc64_avro, decode, encode, registry
from tests.unit.schemas.samples import SAMPLES


def test_crc64_avro_matches_the_spec_reference_implementation() -> None:
    for version in registry().by_fingerprint.values():
        expected_le_hex = fingerprint(to_parsing_canonical_form(version.source), "CRC-64-AVRO")
        assert struct.pack("<Q", version.fingerprint).hex() == expected_le_hex


def test_crc64_of_empty_input_is_the_spec_seed() -> None:
    assert crc64_avro(b"") == 0xC15D213AA4D7A795


@pytest.mark.parametrize("schema_name", sorted(SAMPLES))
def test_every_event_round_trips_with_single_object_header(schema_name: str) -> None:
    record = SAMPLES[schema_name]
    data = encode(schema_name, record)
    assert data[:2] == MAGIC
    assert struct.unpack_from("<Q", data, 2)[0] == registry().schema(schema_name).fingerprint
    decoded_name, decoded = decode(data)
    assert decoded_name == schema_name
    assert decoded == record


def test_every_current_schema_has_a_sample_and_documents_every_field() -> None:
    assert set(SAMPLES) == set(registry().current)
    for version in registry().current.values():
        names = [field["name"] for field in version.source["fields"]]
        assert names[:5] == ["event_id", "event_time", "session_id", "correlation_id", "causation_id"]
        assert all(field.get("doc") for field in version.source["fields"]), version.name


def test_record_written_with_older_schema_version_decodes_with_current_one() -> None:
    reg = registry()
    old = next(v for v in reg.by_fingerprint.values() if v.path.parent.name == "history" and v.name == "rider_profile")
    current = reg.schema("rider_profile")
    assert old.fingerprint != current.fingerprint
    record = {k: v for k, v in SAMPLES["rider_profile"].items() if k != "loyalty_tier"}
    data = reg.encode("rider_profile", record, version=old)
    name, decoded = reg.decode(data)
    assert name == "rider_profile"
    assert decoded["loyalty_tier"] == "standard"  # the default of the field added in v2
    assert {k: decoded[k] for k in record} == record


def test_encoding_a_record_that_does_not_match_raises_encode_error() -> None:
    bad = dict(SAMPLES["gps_ping"], lat="not-a-number")
    with pytest.raises(EncodeError, match="gps_ping"):
        encode("gps_ping", bad)
    with pytest.raises(EncodeError, match="unknown event schema"):
        encode("no_such_event", {})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, "null_value"),
        (b"", "not_single_object"),
        (b"\x00\x01garbage-bytes", "not_single_object"),
        (MAGIC + b"\x00" * 8 + b"\x02", "unknown_fingerprint"),
    ],
)
def test_decode_rejects_bad_framing_with_a_reason(payload: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(payload)
    assert info.value.reason == reason


def test_decode_reports_truncated_and_trailing_bodies() -> None:
    data = encode("trip_event", SAMPLES["trip_event"])
    with pytest.raises(DecodeError) as truncated:
        decode(data[: len(data) - 10])
    assert truncated.value.reason in {"truncated", "invalid_avro"}
    with pytest.raises(DecodeError) as trailing:
        decode(data + b"\x00\x00")
    assert trailing.value.reason == "trailing_bytes"


def test_decode_rejects_an_enum_index_outside_the_symbols() -> None:
    record = SAMPLES["gps_ping"]
    data = bytearray(encode("gps_ping", record))
    # The entity_type enum index is the first byte after the five envelope fields.
    data[HEADER_LENGTH + len(_avro_envelope(record))] = 99 * 2  # zig-zag varint of 99
    with pytest.raises(DecodeError) as info:
        decode(bytes(data))
    assert info.value.reason == "invalid_avro"


def _avro_envelope(record: dict) -> bytes:
    import io

    import fastavro

    schema = fastavro.parse_schema({
        "type": "record", "name": "Envelope", "fields": [
            {"name": "event_id", "type": "string"}, {"name": "event_time", "type": "long"},
            {"name": "session_id", "type": "string"}, {"name": "correlation_id", "type": "string"},
            {"name": "causation_id", "type": ["null", "string"]},
        ]}, named_schemas={})
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, {k: record[k] for k in
                                                ("event_id", "event_time", "session_id", "correlation_id", "causation_id")})
    return buffer.getvalue()


def test_registry_loads_history_versions_by_fingerprint(tmp_path) -> None:
    (tmp_path / "history").mkdir()
    source = json.loads((registry().schema("rating").path).read_text())
    (tmp_path / "rating.avsc").write_text(json.dumps(source))
    fresh = SchemaRegistry(tmp_path)
    assert list(fresh.current) == ["rating"]
    assert fresh.schema("rating").fingerprint == registry().schema("rating").fingerprint
