"""Step markers: in-band control records that close one step of simulated event time on a partition.

In lockstep mode the simulation advances in surge steps. It sends a marker at its first instant,
before any event (so the surge topology knows the run is in lockstep before any of its signals), and
then at each step boundary, to every partition of the topics the surge topology reads
(`MARKED_TOPICS`): every event of the session with `event_time < step_end_ms` on that partition
precedes the marker. The surge topology closes the
step once it has seen the marker of every source partition, publishes the step's surge updates, then a
marker on every partition of the surge topic; the simulation waits for those before it crosses the
boundary. Markers are not events: their value is null (a tombstone on the compacted surge topic) and
the header `MARKER_HEADER` says what they are. Every consumer skips them as data (bronze counts them;
the real-time path uses them as the partition's clock).

Runs: the same seed gives the same events, ids and event times, so two simulations of one session
cannot be told apart by their values. Every record the event producer sends carries the header
`RUN_HEADER` (a fresh id per producer run: producer metadata, not part of the event), and stream
state that depends on event time (dedup memory, clocks, windows, surge) is kept per `run_key`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["MARKED_TOPICS", "MARKER_HEADER", "MARKER_KEY", "RUN_HEADER", "StepMarker", "parse_marker", "run_id_of", "run_key",
           "run_keys"]

MARKER_HEADER = "rideshare.marker"
RUN_HEADER = "run_id"
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


def run_id_of(headers: Sequence[tuple[str, bytes | None]] | None) -> str:
    """The producer run id in these record headers ("" for records produced without one)."""
    raw = _run_header_value(headers)
    return raw.decode("utf-8", errors="replace") if raw is not None else ""


def run_key(session_id: str, run_id: str) -> str:
    """The key of one run of one simulation session in stream state."""
    return f"{session_id}/{run_id}" if run_id else session_id


def run_keys(session_ids: Iterable[str], headers: Iterable[Sequence[tuple[str, bytes | None]] | None]) -> list[str]:
    """`run_key` of each record, given its session id and its headers: what `run_key(session, run_id_of(headers))`
    gives, for a batch of records (which nearly all share one session and one run)."""
    keys: list[str] = []
    known: dict[tuple[str, bytes | None], str] = {}
    for session_id, record_headers in zip(session_ids, headers, strict=True):
        raw = _run_header_value(record_headers)
        key = known.get((session_id, raw))
        if key is None:
            key = known[session_id, raw] = run_key(session_id, raw.decode("utf-8", errors="replace") if raw is not None else "")
        keys.append(key)
    return keys


def _run_header_value(headers: Sequence[tuple[str, bytes | None]] | None) -> bytes | None:
    if not headers:
        return None
    name, value = headers[-1]
    if name == RUN_HEADER and value is not None:  # where the producer puts it: no search for nearly every record
        return value
    for name, value in headers:
        if name == RUN_HEADER and value is not None:
            return value
    return None
