"""Bronze's view of Kafka records and of what it rejects.

The rules themselves are the platform's one classification (`schemas.classify`, shared with the
real-time topologies) plus the shared event-time clock (`schemas.event_clock`); this module holds the
record types the writer and the loader exchange.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.classify import EventTimeBounds
from schemas.contracts import DAY_MS, SAO_PAULO_BBOX

__all__ = ["DAY_MS", "SAO_PAULO_BBOX", "EventTimeBounds", "KafkaRecord", "Rejected"]


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """One consumed Kafka record: coordinates, broker timestamp (ms), raw key/value bytes and headers."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record bronze dead-letters, with the reason."""

    record: KafkaRecord
    error_type: str
    error_message: str

    @property
    def key_text(self) -> str | None:
        """The key as text for the DLQ table (undecodable bytes shown with replacement characters)."""
        return None if self.record.key is None else self.record.key.decode("utf-8", errors="replace")
