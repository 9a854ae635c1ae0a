"""Event records in schema field order, with ids derived from the session (itself derived from the
seed) and a counter. One `EventFactory` per simulation; every record goes to the sink through it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents_sim.sinks import Sink

__all__ = ["EventFactory"]


class EventFactory:
    def __init__(self, session_id: str, sink: Sink) -> None:
        self.session_id = session_id
        self.sink = sink
        self.counter = 0
        self.by_schema: dict[str, int] = {}
        self.trip_listeners: list[Callable[[dict[str, Any]], None]] = []

    def next_id(self) -> str:
        self.counter += 1
        return f"{self.session_id}-{self.counter:x}"

    def emit(self, schema: str, record: dict[str, Any]) -> None:
        self.by_schema[schema] = self.by_schema.get(schema, 0) + 1
        self.sink.emit(schema, record)

    def header(self, t_ms: int, correlation_id: str, causation_id: str | None) -> dict[str, Any]:
        return {"event_id": self.next_id(), "event_time": t_ms, "session_id": self.session_id,
                "correlation_id": correlation_id, "causation_id": causation_id}
