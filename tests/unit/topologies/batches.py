"""Builders of the inputs the lean batch path hands to topologies: Kafka-like messages and admitted batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from schemas.batch_codec import polars_schema
from schemas.markers import StepMarker
from topologies.dedup import AdmittedBatch


@dataclass
class Message:
    """What Faust's consumer hands a batch agent (the fields our processors read)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float = 1_767_607_200.0
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def tp(self) -> tuple[str, int]:
        return (self.topic, self.partition)


def admitted(rows: list[dict[str, Any]], *, schema: str = "gps_ping", partition: int = 0, run: str = "s",
             markers: list[tuple[int, int]] = (), topic_key: str = "gps") -> AdmittedBatch:  # type: ignore[assignment]
    """An admitted batch of `rows` (records of `schema`); `markers` are (rows before, step end ms)."""
    frame = pl.DataFrame(rows, schema=polars_schema(schema), orient="row")
    message = Message(f"t.rideshare.{topic_key}", partition, len(rows), None, None)
    return AdmittedBatch(topic_key, partition, frame, [run] * len(rows),
                         [(before, StepMarker("s", end), run) for before, end in markers], message)
