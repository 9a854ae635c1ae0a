"""Movement along routes and the GPS ping schedule.

A `Leg` is a route driven from `start_ms` at constant speed: the position at any time is
interpolated by distance along the polyline (not by vertex), with a cursor that only moves forward,
so each ping costs a few float operations. `GpsSchedule` spreads entities over ping buckets, so one
SimPy tick per second pings exactly the entities due (every `moving_interval_s` while moving, every
`idle_interval_s` when parked) instead of one SimPy process per entity.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from agents_sim.world.router import Route
from schemas.geo import bearing_deg

__all__ = ["GpsSchedule", "Leg"]


@dataclass(slots=True)
class Leg:
    route: Route
    start_ms: int
    purpose: str  # pickup, trip, reposition
    end_ms: int = 0
    speed_kmh: float = 0.0
    _headings: list[float] = field(default_factory=list)
    _cursor: int = 0

    def __post_init__(self) -> None:
        self.end_ms = self.start_ms + max(1, int(self.route.duration_s * 1000))
        self.speed_kmh = self.route.distance_m / max(self.route.duration_s, 1e-3) * 3.6
        pts = self.route.points
        self._headings = [bearing_deg(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(pts)] or [0.0]

    def position(self, now_ms: int) -> tuple[float, float, float]:
        """(lat, lon, heading) at `now_ms`, interpolated by distance along the polyline."""
        span = self.end_ms - self.start_ms
        frac = (now_ms - self.start_ms) / span if span > 0 else 1.0
        if frac >= 1.0:
            lat, lon = self.route.points[-1]
            return lat, lon, self._headings[-1]
        if frac < 0.0:
            frac = 0.0
        cum = self.route.cum_m
        target = frac * cum[-1]
        i = self._cursor
        if cum[i] > target:  # a checkpoint/restore or a query in the past: search from the start
            i = 0
        last = len(cum) - 2
        while i < last and cum[i + 1] < target:
            i += 1
        self._cursor = i
        seg = cum[i + 1] - cum[i]
        f = (target - cum[i]) / seg if seg > 0 else 0.0
        (lat1, lon1), (lat2, lon2) = self.route.points[i], self.route.points[i + 1]
        return lat1 + (lat2 - lat1) * f, lon1 + (lon2 - lon1) * f, self._headings[i]


class GpsSchedule:
    """Which entities ping at which second. Each entity has a fixed phase (its ordinal), and is in
    exactly one of the moving / parked / rider schedules or none (offline, idle riders)."""

    def __init__(self, moving_interval_s: int, idle_interval_s: int, rider_interval_s: int) -> None:
        self._moving: list[dict[str, Any]] = [{} for _ in range(moving_interval_s)]
        self._idle: list[dict[str, Any]] = [{} for _ in range(idle_interval_s)]
        self._riders: list[dict[str, Any]] = [{} for _ in range(rider_interval_s)]
        self._where: dict[str, dict[str, Any]] = {}

    def _put(self, buckets: list[dict[str, Any]], entity_id: str, ordinal: int, entity: Any) -> None:
        self.remove(entity_id)
        bucket = buckets[ordinal % len(buckets)]
        bucket[entity_id] = entity
        self._where[entity_id] = bucket

    def set_moving(self, entity_id: str, ordinal: int, entity: Any) -> None:
        self._put(self._moving, entity_id, ordinal, entity)

    def set_parked(self, entity_id: str, ordinal: int, entity: Any) -> None:
        self._put(self._idle, entity_id, ordinal, entity)

    def set_rider(self, entity_id: str, ordinal: int, entity: Any) -> None:
        self._put(self._riders, entity_id, ordinal, entity)

    def remove(self, entity_id: str) -> None:
        bucket = self._where.pop(entity_id, None)
        if bucket is not None:
            del bucket[entity_id]

    def due(self, second: int) -> tuple[list[Any], list[Any], list[Any]]:
        """(moving drivers, parked drivers, waiting riders) due to ping at this whole second."""
        return (
            list(self._moving[second % len(self._moving)].values()),
            list(self._idle[second % len(self._idle)].values()),
            list(self._riders[second % len(self._riders)].values()),
        )
