"""The one classification of Kafka records: valid events, or rejections with a reason.

Bronze and the real-time topologies both call `classify_batch`, so a record is valid or invalid for
the same reason everywhere: bronze dead-letters what it rejects, the real-time path counts and skips it.
Pure, no I/O, and it depends only on each record itself (its key, value and broker timestamp), so a
re-delivered record is always classified the same way (bronze's exactly-once relies on it).

Beyond the decode errors (`schemas.codec.DecodeError.reason`: null_value, not_single_object,
unknown_fingerprint, truncated, invalid_avro, trailing_bytes), a record is rejected when it is
semantically impossible for the platform: a schema that does not belong on the topic, a key that is
missing or disagrees with the record, an empty event id, an event time days away from the broker
timestamp, coordinates outside São Paulo, negative money, a value outside `schemas.contracts`.
The rules run column-wise over a decoded batch (`schemas.batch_codec`); only rejected rows get a
message built one by one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from schemas.batch_codec import decode_batch
from schemas.catalog import TopicSpec
from schemas.contracts import AMOUNT_FIELDS, COORDINATE_FIELDS, DAY_MS, SAO_PAULO_BBOX, VALUE_RANGES

__all__ = ["ClassifiedBatch", "EventTimeBounds", "Rejection", "classify_batch"]


@dataclass(frozen=True)
class EventTimeBounds:
    """How far event time may be from the broker timestamp (wall clock at produce time), in ms.

    Asymmetric on purpose: a simulation replays a fixed start instant that may be months back, but a
    timestamp years away or in the far future is a unit mix-up or garbage.
    """

    max_ahead_ms: int = 30 * DAY_MS
    max_behind_ms: int = 3650 * DAY_MS


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the record at `position` of the batch is not a valid event."""

    position: int
    error_type: str
    error_message: str


@dataclass(frozen=True)
class ClassifiedBatch:
    """The valid events of a batch as columns (`frame`, in input order, at input `positions`, with
    their decoded Kafka `keys`) and the rejections (in input order)."""

    frame: pl.DataFrame
    positions: list[int]
    keys: list[str]
    rejections: list[Rejection]

    def __len__(self) -> int:
        return len(self.positions)


_DECODE_RENAMES = {"wrong_schema": "wrong_topic_schema"}


def _keys(keys: Sequence[bytes | None], positions: list[int], spec: TopicSpec) -> tuple[list[str | None], list[Rejection]]:
    """Decoded keys at `positions` (None where rejected) and the key rejections."""
    decoded: list[str | None] = []
    rejections: list[Rejection] = []
    for position in positions:
        raw = keys[position]
        if not raw:
            decoded.append(None)
            rejections.append(Rejection(position, "missing_key", f"record has no Kafka key; {spec.key} is keyed by {spec.key_field}"))
            continue
        try:
            decoded.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            decoded.append(None)
            rejections.append(Rejection(position, "invalid_key", f"Kafka key is not UTF-8 (bytes {raw[:16].hex()})"))
    return decoded, rejections


def _finite_in(column: pl.Expr, low: float, high: float | None) -> pl.Expr:
    inside = column.is_finite() & (column >= low)
    return inside & (column <= high) if high is not None else inside


def _rules(schema: str, key_field: str | None, bounds: EventTimeBounds) -> list[tuple[str, pl.Expr]]:
    """(error type, expression true where the row breaks the rule), in the order rules are checked."""
    rules: list[tuple[str, pl.Expr]] = [("missing_event_id", pl.col("event_id") == "")]
    if key_field is not None:
        rules.append(("key_mismatch", pl.col("__key") != pl.col(key_field).cast(pl.String)))
    skew = pl.col("event_time") - pl.col("__timestamp_ms")
    rules.append(("event_time_out_of_range", (skew > bounds.max_ahead_ms) | (skew < -bounds.max_behind_ms)))
    box = SAO_PAULO_BBOX
    for lat, lon in COORDINATE_FIELDS.get(schema, ()):
        inside = _finite_in(pl.col(lat), box.min_lat, box.max_lat) & _finite_in(pl.col(lon), box.min_lon, box.max_lon)
        rules.append(("invalid_coordinates", ~inside))
    for field in AMOUNT_FIELDS.get(schema, ()):
        rules.append(("negative_amount", pl.col(field).is_not_null() & ~_finite_in(pl.col(field), 0.0, None)))
    for value_range in VALUE_RANGES.get(schema, ()):
        column = pl.col(value_range.field).cast(pl.Float64)
        rules.append(("invalid_value", column.is_not_null() & ~_finite_in(column, value_range.low, value_range.high)))
    return rules


def _message(error_type: str, row: dict[str, Any], spec: TopicSpec, schema: str, bounds: EventTimeBounds) -> str:
    """The dead-letter message of a row that broke rule `error_type` (built only for rejected rows)."""
    if error_type == "missing_event_id":
        return "event_id is empty"
    if error_type == "key_mismatch":
        return f"Kafka key {row['__key']!r} differs from the record's {spec.key_field} {row.get(spec.key_field or '')!r}"
    if error_type == "event_time_out_of_range":
        skew_ms = row["event_time"] - row["__timestamp_ms"]
        direction = "after" if skew_ms > 0 else "before"
        limit_ms = bounds.max_ahead_ms if skew_ms > 0 else bounds.max_behind_ms
        return (f"event_time {row['event_time']} is {abs(skew_ms) / DAY_MS:.1f} days {direction} the broker timestamp "
                f"{row['__timestamp_ms']} (limit {limit_ms / DAY_MS:g} days)")
    if error_type == "invalid_coordinates":
        box = SAO_PAULO_BBOX
        for lat, lon in COORDINATE_FIELDS[schema]:
            if not (math.isfinite(row[lat]) and math.isfinite(row[lon]) and box.contains(row[lat], row[lon])):
                return f"({lat}, {lon}) = ({row[lat]}, {row[lon]}) is not a finite point inside São Paulo"
    if error_type == "negative_amount":
        for field in AMOUNT_FIELDS[schema]:
            amount = row[field]
            if amount is not None and not (math.isfinite(amount) and amount >= 0):
                return f"{field} = {amount} BRL; amounts must be finite and >= 0"
    for value_range in VALUE_RANGES.get(schema, ()):
        value = row[value_range.field]
        high_ok = value_range.high is None or (value is not None and value <= value_range.high)
        if value is not None and not (math.isfinite(value) and value >= value_range.low and high_ok):
            return f"{value_range.field} = {value!r}; it must be {value_range.expectation}"
    return error_type


def classify_batch(spec: TopicSpec, keys: Sequence[bytes | None], values: Sequence[bytes | None],
                   timestamps_ms: Sequence[int], *, bounds: EventTimeBounds = EventTimeBounds()) -> ClassifiedBatch:
    """Classify a batch of records of topic `spec` (which must carry a value schema), given as
    parallel sequences of Kafka keys, values and broker timestamps (ms)."""
    schema = spec.value_schema
    if schema is None:
        raise ValueError(f"topic {spec.key} carries no value schema: there is nothing to classify")
    decoded = decode_batch(values, schema)
    rejections = [Rejection(position, _DECODE_RENAMES.get(reason, reason), detail if reason not in _DECODE_RENAMES
                            else f"{detail} (topic {spec.key})") for position, reason, detail in decoded.errors]
    frame, positions = decoded.frame, decoded.positions
    if spec.key_field is not None:
        key_texts, key_rejections = _keys(keys, positions, spec)
        if key_rejections:
            rejections.extend(key_rejections)
            keep = [i for i, key in enumerate(key_texts) if key is not None]
            frame, positions = frame[keep], [positions[i] for i in keep]
            key_texts = [key_texts[i] for i in keep]
    else:
        key_texts = [None if keys[p] is None else keys[p].decode("utf-8", errors="replace") for p in positions]  # type: ignore[union-attr]
    checked = frame.with_columns(pl.Series("__key", key_texts, dtype=pl.String),
                                 pl.Series("__timestamp_ms", [timestamps_ms[p] for p in positions], dtype=pl.Int64))
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    for error_type, broken in reversed(_rules(schema, spec.key_field, bounds)):
        reason = pl.when(broken.fill_null(False)).then(pl.lit(error_type)).otherwise(reason)
    reasons = checked.select(reason.alias("reason")).get_column("reason")
    if reasons.null_count() < len(reasons):
        bad = reasons.is_not_null()
        for index in bad.arg_true().to_list():
            row = checked.row(index, named=True)
            rejections.append(Rejection(positions[index], reasons[index], _message(reasons[index], row, spec, schema, bounds)))
        good = (~bad).to_list()
        frame = frame.filter(~bad)
        key_texts = [key for key, keep in zip(key_texts, good, strict=True) if keep]
        positions = [position for position, keep in zip(positions, good, strict=True) if keep]
    rejections.sort(key=lambda rejection: rejection.position)
    return ClassifiedBatch(frame, positions, [key or "" for key in key_texts], rejections)
