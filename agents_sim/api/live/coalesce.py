"""Pure coalescing of live changes for the WebSocket (no I/O, no asyncio): unit-tested on its own.

A `Delta` holds the latest value per identity (entity, trip, zone), so merging newer changes into it
never grows it beyond the number of distinct identities. A `Mailbox` is one client's single slot:
frames offered while the client is still sending the previous one merge into the pending delta, and
when that pending delta grows past a bound the mailbox drops it and asks for a fresh snapshot
instead. A slow client therefore costs at most one bounded delta, never a queue of frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delta", "Mailbox", "MailboxStats", "position_key", "to_json"]

JsonObject = dict[str, Any]


def to_json(message: JsonObject) -> str:
    """Compact JSON for the wire (the browser parses it; no whitespace)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str)


def position_key(position: JsonObject) -> str:
    """Identity of a position: `<entity_type>:<entity_id>` as in the live-state GEO set."""
    return f"{position.get('entity_type', 'driver')}:{position.get('entity_id')}"


@dataclass
class Delta:
    """Changes since the last frame, latest value per identity (an entity is either moved or removed)."""

    positions: dict[str, JsonObject] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    trips: dict[str, JsonObject] = field(default_factory=dict)
    surge: dict[str, JsonObject] = field(default_factory=dict)
    stats: JsonObject | None = None

    def add_positions(self, positions: list[JsonObject]) -> None:
        for position in positions:
            key = position_key(position)
            self.positions[key] = position
            self.removed.discard(key)

    def add_removed(self, keys: list[str] | set[str]) -> None:
        """Entities that left the map (`<entity_type>:<entity_id>`)."""
        for key in keys:
            self.positions.pop(key, None)
            self.removed.add(key)

    def add_trip(self, change: JsonObject) -> None:
        self.trips[str(change.get("trip_id"))] = change

    def add_surge(self, zone: JsonObject) -> None:
        self.surge[str(zone.get("zone_id"))] = zone

    def merge(self, newer: Delta) -> None:
        """Fold a newer delta into this one (newer values win)."""
        self.add_removed(newer.removed)
        self.add_positions(list(newer.positions.values()))
        self.trips.update(newer.trips)
        self.surge.update(newer.surge)
        if newer.stats is not None:
            self.stats = newer.stats

    @property
    def object_count(self) -> int:
        """Number of objects held: the unit a mailbox bounds."""
        return len(self.positions) + len(self.removed) + len(self.trips) + len(self.surge) + (self.stats is not None)

    def is_empty(self) -> bool:
        return self.object_count == 0

    def to_message(self, tick: int) -> JsonObject:
        message: JsonObject = {
            "type": "delta",
            "tick": tick,
            "positions": list(self.positions.values()),
            "removed": sorted(self.removed),
            "trips": list(self.trips.values()),
            "surge": list(self.surge.values()),
            "stats": self.stats,  # null when this frame carries none (the client keeps the previous ones)
        }
        return message


@dataclass
class MailboxStats:
    frames_offered: int = 0
    frames_coalesced: int = 0
    resyncs: int = 0


class Mailbox:
    """A client's one-slot mailbox of pending changes.

    `offer()` puts a frame in: when the slot is empty the frame is kept as is (with its wire text,
    shared by every client that is keeping up, so it is serialised once); when the slot is already
    full, the frame is merged into it. Past `max_pending_objects` the pending delta is dropped and the
    client gets a full snapshot next, which is bounded by the size of the world.
    """

    def __init__(self, *, max_pending_objects: int) -> None:
        if max_pending_objects < 1:
            raise ValueError("max_pending_objects must be at least 1")
        self.max_pending_objects = max_pending_objects
        self.needs_snapshot = True  # a new client starts with a snapshot
        self.stats = MailboxStats()
        self._pending: Delta | None = None
        self._pending_text: str | None = None  # wire text when the pending delta is exactly one shared frame
        self._pending_tick = 0

    @property
    def has_work(self) -> bool:
        return self.needs_snapshot or self._pending is not None

    @property
    def pending_objects(self) -> int:
        return 0 if self._pending is None else self._pending.object_count

    def pending_bytes(self) -> int:
        """Size of the pending frame on the wire (serialises it when not shared: for stats, not the hot path)."""
        if self._pending is None:
            return 0
        if self._pending_text is not None:
            return len(self._pending_text.encode())
        return len(to_json(self._pending.to_message(self._pending_tick)).encode())

    def offer(self, frame: Delta, text: str, tick: int) -> None:
        """Give the client a new frame (`text` is its wire form, shared between clients)."""
        self.stats.frames_offered += 1
        if self.needs_snapshot:
            return  # the snapshot it is about to get already contains this frame's state
        if self._pending is None:
            self._pending, self._pending_text, self._pending_tick = frame, text, tick
            return
        self.stats.frames_coalesced += 1
        if self._pending_text is not None:
            # The shared frame must stay untouched for the other clients: copy before merging.
            merged = Delta()
            merged.merge(self._pending)
            self._pending = merged
            self._pending_text = None
        self._pending.merge(frame)
        self._pending_tick = tick
        if self._pending.object_count > self.max_pending_objects:
            self.request_snapshot()
            self.stats.resyncs += 1

    def request_snapshot(self) -> None:
        self._pending, self._pending_text = None, None
        self.needs_snapshot = True

    def take(self) -> str | None:
        """The next delta's wire text, or None when a snapshot is due (the caller builds it) or nothing is pending."""
        if self.needs_snapshot or self._pending is None:
            return None
        text = self._pending_text or to_json(self._pending.to_message(self._pending_tick))
        self._pending, self._pending_text = None, None
        return text

    def snapshot_started(self) -> None:
        """The caller starts building a snapshot: frames offered from here on are sent as deltas after it.

        A frame offered while the snapshot is being read may be a little older than the snapshot's
        values; the next frame corrects it, which beats missing a change.
        """
        self.needs_snapshot = False
        self._pending, self._pending_text = None, None
