"""Avro single-object records decoded a batch at a time into columns, with every row verified exactly.

`schemas.codec.decode` costs ~6 µs per record (fastavro, one call per record): more than everything
else a stream worker does with a GPS ping. Here the bodies of a batch's records that share a writer
schema become one Avro object-container block that polars decodes in Rust (~0.5 µs per record), and
the result is columns, not dicts.

A block decoder reads records back to back, so on its own it cannot tell a corrupt record from its
neighbours (a truncated body shifts every record after it). Every decoded row is therefore checked:
the encoded length of its decoded values, computed column-wise, must equal the length of that
record's own bytes. Avro's binary encoding has one length per value, so equal lengths for every row
mean each record was read from exactly its own bytes, as `codec.decode` would have read it (which also
rejects trailing bytes). A batch that fails the check, fails to decode, uses a schema feature the check
does not cover (arrays: the profile topics, a few records a minute), or was written with an older
schema version (resolution) takes the per-record path,
whose errors (`DecodeError.reason`) classify each record exactly.
"""

from __future__ import annotations

import io
import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from schemas.codec import HEADER_LENGTH, MAGIC, DecodeError, SchemaVersion, registry

__all__ = ["MIN_BLOCK_RECORDS", "DecodedBatch", "decode_batch", "polars_schema"]

_SYNC = bytes(range(16))
_SENTINEL = os.urandom(16)
_SENTINEL_FIELD = "__rideshare_sentinel"
_fingerprint_of = struct.Struct("<Q").unpack_from
# Below this many records the block's fixed cost (~0.1 ms) exceeds decoding them one by one.
MIN_BLOCK_RECORDS = 128

Error = tuple[int, str, str]


@dataclass(frozen=True)
class DecodedBatch:
    """Rows of one schema decoded from a batch of raw values.

    `frame` has one row per decodable record, columns in the current schema's field order (timestamps
    as int ms, enums as strings); `positions[i]` is the input position of row `i` (ascending);
    `errors` lists (input position, reason, detail) of the records that could not be decoded.
    """

    schema_name: str
    frame: pl.DataFrame
    positions: list[int]
    errors: list[Error]


def _long(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _without_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_without_logical_types(item) for item in node]
    return node


def _enums_as_ints(avro_type: Any, named: dict[str, tuple[str, ...]]) -> tuple[Any, tuple[str, ...] | None]:
    """(the type with every enum written as int, the enum's symbols if the type is one).

    An Avro enum is encoded as the zig-zag int of its symbol's index, so reading it as an int reads
    the same bytes; the symbols are mapped back column-wise (polars' own enum support is partial)."""
    if isinstance(avro_type, list):
        converted = [_enums_as_ints(branch, named) for branch in avro_type]
        return [t for t, _ in converted], next((symbols for _, symbols in converted if symbols), None)
    if isinstance(avro_type, str):
        return ("int", named[avro_type]) if avro_type in named else (avro_type, None)
    if avro_type["type"] == "enum":
        named[avro_type["name"]] = tuple(avro_type["symbols"])
        return "int", named[avro_type["name"]]
    return avro_type, None


@cache
def _container_schema(fingerprint: int) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]] | None:
    """The writer schema as the block reader gets it (enums as ints, no logical types, the sentinel
    last) and the symbols of each enum field; None for a schema the block reader misreads."""
    source = _without_logical_types(registry().by_fingerprint[fingerprint].source)
    if "array" in json.dumps(source["fields"]):
        return None  # polars misreads some arrays (an empty one is "OutOfSpec")
    named: dict[str, tuple[str, ...]] = {}
    fields, enums = [], {}
    for field in source["fields"]:
        converted, symbols = _enums_as_ints(field["type"], named)
        fields.append({**field, "type": converted})
        if symbols is not None:
            enums[field["name"]] = symbols
    fields.append({"name": _SENTINEL_FIELD, "type": {"type": "fixed", "size": len(_SENTINEL), "name": "RideshareSentinel"}})
    return {**source, "fields": fields}, enums


@cache
def _container_header(fingerprint: int) -> bytes:
    container = _container_schema(fingerprint)
    assert container is not None  # only called for schemas the block reader handles
    schema = json.dumps(container[0]).encode()
    metadata = b"".join(_long(len(k)) + k + _long(len(v)) + v for k, v in ((b"avro.schema", schema), (b"avro.codec", b"null")))
    return b"Obj\x01" + _long(2) + metadata + b"\x00" + _SYNC


_POLARS_PRIMITIVES: dict[str, Any] = {"string": pl.String, "long": pl.Int64, "int": pl.Int32, "double": pl.Float64,
                                      "float": pl.Float32, "boolean": pl.Boolean, "bytes": pl.Binary}


def _polars_type(avro_type: Any, named: dict[str, Any]) -> Any:
    if isinstance(avro_type, list):
        (branch,) = [b for b in avro_type if b != "null"]
        return _polars_type(branch, named)
    if isinstance(avro_type, str):
        return _POLARS_PRIMITIVES.get(avro_type) or named[avro_type]
    kind = avro_type["type"]
    if kind == "enum":
        named[avro_type["name"]] = pl.String
        return pl.String
    if kind == "array":
        return pl.List(_polars_type(avro_type["items"], named))
    return _POLARS_PRIMITIVES[kind]


@cache
def polars_schema(schema_name: str) -> pl.Schema:
    """The column types of `schema_name`'s current version in a decoded frame."""
    named: dict[str, Any] = {}
    return pl.Schema({f["name"]: _polars_type(f["type"], named) for f in registry().schema(schema_name).source["fields"]})


def _enum_column(indices: pl.Series, symbols: tuple[str, ...]) -> pl.Series | None:
    """Symbols for enum indices, or None if an index is outside the enum (invalid Avro)."""
    present = indices.drop_nulls()
    if len(present) and (present.min() < 0 or present.max() >= len(symbols)):  # type: ignore[operator]  # ints
        return None
    column = pl.Series(indices.name, np.array(symbols, dtype=object)[indices.fill_null(0).to_numpy()], dtype=pl.String)
    return column.set(indices.is_null(), None) if indices.null_count() else column


def _block_decode(fingerprint: int, values: list[bytes], schema_name: str) -> pl.DataFrame | None:
    """The frame of `values` (all of this writer version), or None when any row fails the check."""
    container = _container_schema(fingerprint)
    if container is None or len(values) < MIN_BLOCK_RECORDS:
        return None
    parts: list[bytes] = []
    for value in values:
        parts.append(value[HEADER_LENGTH:])
        parts.append(_SENTINEL)
    body = b"".join(parts)
    block = _container_header(fingerprint) + _long(len(values)) + _long(len(body)) + body + _SYNC
    try:
        frame = pl.read_avro(io.BytesIO(block))
        intact = frame.height == len(values) and frame.select(
            (pl.col(_SENTINEL_FIELD) == pl.lit(_SENTINEL, dtype=pl.Binary)).all()).item()
    except BaseException as exc:  # polars panics (pyo3 PanicException, a BaseException) on some corrupt bodies
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None
    if not intact:
        return None
    enum_columns = []
    for name, symbols in container[1].items():
        column = _enum_column(frame.get_column(name), symbols)
        if column is None:
            return None  # the per-record path names the record
        enum_columns.append(column)
    return frame.drop(_SENTINEL_FIELD).with_columns(enum_columns).cast(polars_schema(schema_name), strict=False)


def _record_decode(values: Sequence[tuple[int, bytes]], schema_name: str) -> tuple[list[int], list[dict[str, Any]], list[Error]]:
    codec = registry()
    positions: list[int] = []
    records: list[dict[str, Any]] = []
    errors: list[Error] = []
    for position, value in values:
        try:
            name, record = codec.decode(value)
        except DecodeError as exc:
            errors.append((position, exc.reason, exc.detail))
            continue
        if name != schema_name:
            errors.append((position, "wrong_schema", f"a {name} record where {schema_name} records belong"))
            continue
        positions.append(position)
        records.append(record)
    return positions, records, errors


def decode_batch(values: Sequence[bytes | None], schema_name: str) -> DecodedBatch:
    """Decode raw single-object values that should all be `schema_name` records (current or older versions)."""
    codec = registry()
    current: SchemaVersion = codec.schema(schema_name)
    errors: list[Error] = []
    groups: dict[int, list[tuple[int, bytes]]] = {}
    for position, value in enumerate(values):
        if value is None:
            errors.append((position, "null_value", "record has no value (tombstone or missing payload)"))
        elif len(value) < HEADER_LENGTH or value[:2] != MAGIC:
            errors.append((position, "not_single_object", f"missing Avro single-object header (first bytes {value[:4].hex()})"))
        else:
            groups.setdefault(_fingerprint_of(value, 2)[0], []).append((position, value))
    frames: list[pl.DataFrame] = []
    positions: list[int] = []
    for fingerprint, members in groups.items():
        writer = codec.by_fingerprint.get(fingerprint)
        if writer is None:
            errors.extend((p, "unknown_fingerprint", f"no known schema has fingerprint {fingerprint:#018x}") for p, _ in members)
            continue
        if writer.full_name != current.full_name:
            errors.extend((p, "wrong_schema", f"a {writer.name} record where {schema_name} records belong") for p, _ in members)
            continue
        frame = _block_decode(fingerprint, [v for _, v in members], schema_name) if writer is current else None
        if frame is not None:
            frames.append(frame)
            positions.extend(p for p, _ in members)
            continue
        decoded_positions, records, record_errors = _record_decode(members, schema_name)
        errors.extend(record_errors)
        if records:
            frames.append(pl.DataFrame(records, schema=polars_schema(schema_name), orient="row"))
            positions.extend(decoded_positions)
    frame = pl.concat(frames, how="vertical") if frames else polars_schema(schema_name).to_frame()
    if len(frames) > 1:  # several writer versions: back to input order
        order = sorted(range(len(positions)), key=positions.__getitem__)
        frame = frame[order]
        positions = [positions[i] for i in order]
    errors.sort()
    return DecodedBatch(schema_name, frame, positions, errors)
