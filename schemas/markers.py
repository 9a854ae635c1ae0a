"""Step markers: in-band control records that close one step of simulated event time on a partition.

In lockstep mode the simulation advances in surge steps. At each step boundary it sends a marker to
every partition of the topics the surge topology reads (`MARKED_TOPICS`): every event of the session
with `event_time < step_end_ms` on that partition precedes the marker. The surge topology closes the
step once it has seen the marker of every source partition, publishes the step's surge updates, then a
marker on every partition of the surge topic; the simulation waits for those before it crosses the
boundary. Markers are not events: their value is null (a tombstone on the compacted surge topic) and
the header `MARKER_HEADER` says what they are. Every consumer skips them as data (bronze counts them;
the real-time path uses them as the partition's clock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MARKED_TOPICS", "MARKER_HEADER", "MARKER_KEY", "StepMarker", "parse_marker"]

MARKER_HEADER = "rideshare.marker"
_STEP = b"step"
# Markers need a key on the compacted surge topic; one constant key keeps them from ever being data.
MARKER_KEY = b"__step_marker__"
# The catalog topics the surge topology reads: the simulation marks every partition of each.
MARKED_TOPICS: tuple[str, ...] = ("trips", "driver-status", "gps")


@dataclass(frozen=True)
class StepMarker:
    """The end of step `step_end_ms` (event time, ms) of simulation session `session_id` on one partition."""

    session_id: str
    step_end_ms: int

    def headers(self) -> list[tuple[str, bytes]]:
        return [(MARKER_HEADER, _STEP), ("session_id", self.session_id.encode()), ("step_end_ms", str(self.step_end_ms).encode())]


def parse_marker(headers: Iterable[tuple[str, bytes | None]] | None) -> StepMarker | None:
    """The step marker these record headers describe, or None for an ordinary record."""
    if not headers:
        return None
    found = {name: value for name, value in headers}
    if found.get(MARKER_HEADER) != _STEP:
        return None
    session, end = found.get("session_id"), found.get("step_end_ms")
    if session is None or end is None:
        return None
    try:
        return StepMarker(session.decode(), int(end))
    except (UnicodeDecodeError, ValueError):
        return None
