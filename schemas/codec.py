"""Avro single-object encoding (Avro spec 1.11, "Single object encoding") without a registry server.

A record is `C3 01` + the 8-byte little-endian CRC-64-AVRO fingerprint of its writer schema's
Parsing Canonical Form + the Avro binary body. Every schema we ever shipped (current ones in
`avro/`, older versions in `avro/history/`) is loaded into one registry, so a reader can find the
writer schema of any record by fingerprint and resolve it to the current reader schema: old records
stay readable after a compatible change.

Timestamps stay plain ints (milliseconds since the epoch) in Python: the logicalType annotation is
kept in the .avsc files for other readers but not applied here, because event time is arithmetic
on the hot path and datetime objects would cost a lot per record.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

import fastavro
from fastavro.schema import to_parsing_canonical_form

from core.exceptions import RideshareError

__all__ = [
    "MAGIC",
    "DecodeError",
    "EncodeError",
    "SchemaRegistry",
    "crc64_avro",
    "decode",
    "encode",
    "event_type_of",
    "registry",
]

MAGIC = b"\xc3\x01"
HEADER_LENGTH = len(MAGIC) + 8
AVRO_DIR = Path(__file__).resolve().parent / "avro"
_CRC64_EMPTY = 0xC15D213AA4D7A795


def _crc64_table() -> list[int]:
    table = []
    for byte in range(256):
        fingerprint = byte
        for _ in range(8):
            fingerprint = (fingerprint >> 1) ^ (_CRC64_EMPTY & -(fingerprint & 1))
        table.append(fingerprint)
    return table


_CRC64_TABLE = _crc64_table()


def crc64_avro(data: bytes) -> int:
    """The Avro spec's 64-bit Rabin fingerprint (CRC-64-AVRO) of `data`."""
    fingerprint = _CRC64_EMPTY
    for byte in data:
        fingerprint = (fingerprint >> 8) ^ _CRC64_TABLE[(fingerprint ^ byte) & 0xFF]
    return fingerprint


class EncodeError(RideshareError):
    """A record does not match its schema."""


class DecodeError(RideshareError):
    """Bytes that are not a valid record of a known schema. `reason` is a short machine code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.detail = message


def _without_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_without_logical_types(item) for item in node]
    return node


@dataclass(frozen=True)
class SchemaVersion:
    """One parsed schema file: `name` is the event name (file stem without version)."""

    name: str
    full_name: str
    source: dict[str, Any]
    parsed: Any
    fingerprint: int
    path: Path

    @property
    def header(self) -> bytes:
        return MAGIC + struct.pack("<Q", self.fingerprint)


def _load(path: Path) -> SchemaVersion:
    source = json.loads(path.read_text())
    canonical = to_parsing_canonical_form(source)
    return SchemaVersion(
        name=path.name.split(".")[0],
        full_name=f"{source['namespace']}.{source['name']}",
        source=source,
        parsed=fastavro.parse_schema(_without_logical_types(source), named_schemas={}),
        fingerprint=crc64_avro(canonical.encode()),
        path=path,
    )


class SchemaRegistry:
    """Every shipped schema version, by event name (current only) and by fingerprint (all)."""

    def __init__(self, avro_dir: Path = AVRO_DIR) -> None:
        current = [_load(path) for path in sorted(avro_dir.glob("*.avsc"))]
        history = [_load(path) for path in sorted((avro_dir / "history").glob("*.avsc"))]
        self.current: dict[str, SchemaVersion] = {version.name: version for version in current}
        self._current_by_full_name = {version.full_name: version for version in current}
        self.by_fingerprint: dict[int, SchemaVersion] = {v.fingerprint: v for v in history + current}

    def schema(self, name: str) -> SchemaVersion:
        try:
            return self.current[name]
        except KeyError:
            known = ", ".join(sorted(self.current))
            raise EncodeError(f"unknown event schema {name!r}; known: {known}") from None

    def encode(self, name: str, record: dict[str, Any], *, version: SchemaVersion | None = None) -> bytes:
        """Encode `record` with the current schema `name` (or an explicit older `version`)."""
        writer = version or self.schema(name)
        buffer = io.BytesIO()
        buffer.write(writer.header)
        try:
            fastavro.schemaless_writer(buffer, writer.parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, struct.error) as exc:
            raise EncodeError(f"{name} record does not match its schema: {exc!r}") from exc
        return buffer.getvalue()

    def decode(self, data: bytes | None) -> tuple[str, dict[str, Any]]:
        """Return (event name, record) resolved to the current schema; raise DecodeError."""
        if data is None:
            raise DecodeError("null_value", "record has no value (tombstone or missing payload)")
        if len(data) < HEADER_LENGTH or data[:2] != MAGIC:
            raise DecodeError("not_single_object", f"missing Avro single-object header (first bytes {data[:4].hex()})")
        (fingerprint,) = struct.unpack_from("<Q", data, 2)
        writer = self.by_fingerprint.get(fingerprint)
        if writer is None:
            raise DecodeError("unknown_fingerprint", f"no known schema has fingerprint {fingerprint:#018x}")
        reader = self._current_by_full_name.get(writer.full_name, writer)
        body = io.BytesIO(data)
        body.seek(HEADER_LENGTH)
        try:
            record = fastavro.schemaless_reader(
                body, writer.parsed, None if reader is writer else reader.parsed
            )
        except EOFError as exc:
            raise DecodeError("truncated", f"{writer.name} body ends early: {exc}") from exc
        except Exception as exc:  # fastavro raises a zoo of types for corrupt bodies
            raise DecodeError("invalid_avro", f"{writer.name} body is not valid Avro: {exc!r}") from exc
        if body.tell() != len(data):
            raise DecodeError("trailing_bytes", f"{len(data) - body.tell()} bytes after the {writer.name} record")
        return reader.name, cast(dict[str, Any], record)  # every schema of the catalog is a record


@cache
def registry() -> SchemaRegistry:
    """The process-wide registry (schemas are parsed once)."""
    return SchemaRegistry()


def encode(name: str, record: dict[str, Any]) -> bytes:
    return registry().encode(name, record)


def decode(data: bytes | None) -> tuple[str, dict[str, Any]]:
    return registry().decode(data)


def event_type_of(name: str, record: dict[str, Any]) -> str:
    """The event type carried in the `event_type` header: a trip's lifecycle step, else the schema name."""
    return str(record["event_type"]) if name == "trip_event" else name
