"""A hand-rolled Avro encoder for gps_ping, the event that makes ~97 % of the stream.

fastavro's schemaless_writer costs ~6 µs per record here; this writes the same bytes (single-object
header + Avro binary body, fields in schema order) in about a third of that, which is what lets the
Kafka sink keep up with the simulation. A unit test holds it byte-identical to schemas.codec.encode,
and `check_layout()` refuses to run if the gps_ping schema changes under it.
"""

from __future__ import annotations

import struct
from typing import Any

from schemas.codec import registry

__all__ = ["GPS_FIELDS", "check_layout", "encode_gps_ping"]

GPS_FIELDS = ("event_id", "event_time", "session_id", "correlation_id", "causation_id", "entity_type", "entity_id", "lat", "lon",
              "heading_deg", "speed_kmh", "accuracy_m", "trip_id", "driver_status")
_ENTITY_TYPES = {"driver": b"\x00", "rider": b"\x02"}  # enum index, zig-zag varint
_doubles = struct.Struct("<5d").pack


def _long(n: int) -> bytes:
    """Avro long: zig-zag, then base-128 varint."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _string(s: str) -> bytes:
    data = s.encode()
    return _long(len(data)) + data


class _Cache(dict):  # type: ignore[type-arg]  # str -> encoded bytes
    """Encoded strings that repeat (session, entity ids, statuses); bounded, cleared when full."""

    def __missing__(self, key: str) -> bytes:
        if len(self) > 200_000:
            self.clear()
        value = self[key] = _string(key)
        return value


_cache = _Cache()


def _optional(s: str | None, cache: bool) -> bytes:
    if s is None:
        return b"\x00"
    return b"\x02" + (_cache[s] if cache else _string(s))


def check_layout() -> None:
    """Raise if the current gps_ping schema is not the layout this encoder writes."""
    fields = [f["name"] for f in registry().schema("gps_ping").source["fields"]]
    if tuple(fields) != GPS_FIELDS:
        raise RuntimeError(f"gps_ping schema changed ({fields}); update agents_sim/fast_avro.py")


def encode_gps_ping(r: dict[str, Any]) -> bytes:
    """Single-object encoding of a gps_ping record, byte-identical to schemas.codec.encode."""
    entity = _cache[r["entity_id"]]
    return b"".join((
        _HEADER, _string(r["event_id"]), _long(r["event_time"]), _cache[r["session_id"]], _cache[r["correlation_id"]],
        _optional(r["causation_id"], False), _ENTITY_TYPES[r["entity_type"]], entity,
        _doubles(r["lat"], r["lon"], r["heading_deg"], r["speed_kmh"], r["accuracy_m"]),
        _optional(r["trip_id"], False), _optional(r["driver_status"], True),
    ))


_HEADER = registry().schema("gps_ping").header
