"""Errors of the bronze layer."""

from __future__ import annotations

from core.exceptions import RideshareError


class BronzeError(RideshareError):
    """Base of bronze errors."""


class BronzeTransientError(BronzeError):
    """A Delta commit failed for a reason that may pass (the lake unreachable or full, commits racing):
    the batch is not acknowledged and is retried with back-off. `lake_unreachable` errors are retried
    until the lake is back; others only a bounded number of times before the rows are dead-lettered."""

    def __init__(self, message: str, *, lake_unreachable: bool = False) -> None:
        super().__init__(message)
        self.lake_unreachable = lake_unreachable


class OffsetDiscontinuityError(BronzeError):
    """A partition's Kafka offsets no longer continue what bronze committed (topic recreated, offsets
    reset): ingesting would skip or mix records, so the partition is stopped until an operator decides."""
