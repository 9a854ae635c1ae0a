"""Routers: street-like polylines with traffic-dependent durations.

`GridRouter` (default, offline, deterministic) walks a street grid rotated to the local street
orientation: a staircase of block-aligned legs whose length is the Manhattan distance in grid axes
(on average 4/π ≈ 1.27 × the straight line), times a curvature factor for streets that are not
straight, so polylines never cut across blocks. `OsrmRouter` asks an OSRM server (used only when
OSRM_URL is configured) and falls back to the grid on any error. Durations come from
`TrafficModel`: network distance over the hour's street speed.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Protocol

import httpx

from agents_sim.params import TrafficParams
from schemas.geo import haversine_m, metres_per_degree

__all__ = ["GridRouter", "OsrmRouter", "Route", "Router", "TrafficModel"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    """A drivable path. `points` are (lat, lon); `cum_m[i]` is the polyline length up to point i;
    `distance_m` is the network distance (polyline length × curvature) and `duration_s` the planned time."""

    points: tuple[tuple[float, float], ...]
    cum_m: tuple[float, ...]
    distance_m: float
    duration_s: float

    @property
    def polyline_m(self) -> float:
        return self.cum_m[-1]

    def as_lonlat(self) -> list[list[float]]:
        return [[round(lon, 6), round(lat, 6)] for lat, lon in self.points]


class TrafficModel:
    """Street speed by local hour of day (see TrafficParams for the calibration)."""

    def __init__(self, params: TrafficParams, utc_offset_ms: int) -> None:
        self.params = params
        self._offset_ms = utc_offset_ms

    def local_hour(self, t_ms: int) -> int:
        return ((t_ms + self._offset_ms) // 3_600_000) % 24

    def speed_kmh(self, t_ms: int) -> float:
        return self.params.speed_kmh_by_hour[self.local_hour(t_ms)]

    def long_trip_factor(self, distance_m: float) -> float:
        """Speed multiplier of a trip of this length (long trips run on faster arterials)."""
        lo, hi = self.params.long_trip_km
        share = min(1.0, max(0.0, (distance_m / 1000 - lo) / (hi - lo)))
        return 1.0 + self.params.long_trip_speedup * share


class Router(Protocol):
    def route(self, lat1: float, lon1: float, lat2: float, lon2: float, *, depart_ms: int, speed_factor: float = 1.0) -> Route:
        """Path from point 1 to point 2 leaving at `depart_ms`; `speed_factor` scales the hour's speed."""
        ...


def _cumulative(points: list[tuple[float, float]]) -> tuple[float, ...]:
    cum = [0.0]
    for (a_lat, a_lon), (b_lat, b_lon) in itertools.pairwise(points):
        cum.append(cum[-1] + haversine_m(a_lat, a_lon, b_lat, b_lon))
    return tuple(cum)


def _grid_angle(lat: float, lon: float) -> float:
    """Street-grid orientation (radians in [0, π/2)) of a ~3 km neighbourhood: São Paulo's grids turn
    from district to district; a deterministic function of place keeps every route through it alike."""
    cell = (math.floor(lat / 0.03), math.floor(lon / 0.03))
    return ((cell[0] * 73_856_093 ^ cell[1] * 19_349_663) % 90) * math.pi / 180


class GridRouter:
    def __init__(self, traffic: TrafficModel) -> None:
        self.traffic = traffic
        self.params = traffic.params

    def route(self, lat1: float, lon1: float, lat2: float, lon2: float, *, depart_ms: int, speed_factor: float = 1.0) -> Route:
        points = self._staircase(lat1, lon1, lat2, lon2)
        cum = _cumulative(points)
        distance = max(cum[-1] * self.params.detour_factor, 1.0)
        speed_mps = self.traffic.speed_kmh(depart_ms) * speed_factor * self.traffic.long_trip_factor(distance) / 3.6
        return Route(tuple(points), cum, distance, distance / speed_mps)

    def _staircase(self, lat1: float, lon1: float, lat2: float, lon2: float) -> list[tuple[float, float]]:
        m_lat, m_lon = metres_per_degree((lat1 + lat2) / 2)
        dy = (lat2 - lat1) * m_lat
        dx = (lon2 - lon1) * m_lon
        if abs(dx) + abs(dy) < 1.0:
            return [(lat1, lon1), (lat2, lon2)]
        theta = _grid_angle(lat1, lon1)
        cos_t, sin_t = math.cos(theta), math.sin(theta)
        # displacement in grid axes (u along the streets, v across them)
        du = dx * cos_t + dy * sin_t
        dv = -dx * sin_t + dy * cos_t
        # A few turns per trip, at least every ~4 blocks, like a driver zig-zagging toward the target.
        turns = max(1, min(10, math.ceil(max(abs(du), abs(dv)) / (4 * self.params.block_m) / 3)))
        points = [(lat1, lon1)]
        x = y = 0.0
        for _ in range(turns):
            for step_u, step_v in ((du / turns, 0.0), (0.0, dv / turns)):
                if step_u == 0.0 and step_v == 0.0:
                    continue
                x += step_u * cos_t - step_v * sin_t
                y += step_u * sin_t + step_v * cos_t
                points.append((lat1 + y / m_lat, lon1 + x / m_lon))
        points[-1] = (lat2, lon2)
        return points


class OsrmRouter:
    """Routes from an OSRM server (`/route/v1/driving`); OSRM's free-flow durations are scaled by the
    hour's congestion (free-flow speed / hour speed). Any failure falls back to the grid router."""

    def __init__(self, base_url: str, traffic: TrafficModel, *, timeout_s: float = 2.0) -> None:
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self.traffic = traffic
        self._fallback = GridRouter(traffic)
        self.failures = 0

    def route(self, lat1: float, lon1: float, lat2: float, lon2: float, *, depart_ms: int, speed_factor: float = 1.0) -> Route:
        try:
            response = self._client.get(
                f"/route/v1/driving/{lon1:.6f},{lat1:.6f};{lon2:.6f},{lat2:.6f}",
                params={"overview": "full", "geometries": "geojson"},
            )
            response.raise_for_status()
            best = response.json()["routes"][0]
            points = [(lat, lon) for lon, lat in best["geometry"]["coordinates"]] or [(lat1, lon1), (lat2, lon2)]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            self.failures += 1
            if self.failures == 1:
                log.warning("OSRM routing failed (%s); using the grid router for failed requests", exc)
            return self._fallback.route(lat1, lon1, lat2, lon2, depart_ms=depart_ms, speed_factor=speed_factor)
        if len(points) == 1:
            points.append(points[0])
        congestion = self.traffic.params.free_flow_kmh / self.traffic.speed_kmh(depart_ms)
        distance = max(float(best["distance"]), 1.0)
        return Route(tuple(points), _cumulative(points), distance, max(float(best["duration"]), 1.0) * congestion / speed_factor)

    def close(self) -> None:
        self._client.close()
