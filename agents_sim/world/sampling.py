"""Places in the city drawn from seeded RNGs: points inside zones, zones by demand weight, and
destinations at a realistic trip distance — all within a service area (the whole city by default)."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Mapping

from schemas.geo import haversine_m, offset_m
from schemas.zones import Zone, ZoneIndex

__all__ = ["PlaceSampler"]


class PlaceSampler:
    def __init__(self, index: ZoneIndex, area: frozenset[str] | None = None, outside_weight: float = 1.0) -> None:
        """`area`: zone ids where origins, homes and repositioning targets are drawn (None = every zone);
        a destination outside it is `outside_weight` times as likely as an equal-demand one inside."""
        self.index = index
        self.area = area if area is not None else frozenset(index.by_id)
        self._zones = tuple(z for z in index.zones if z.zone_id in self.area)
        self._destination_weight = {z.zone_id: z.demand_weight * (1.0 if z.zone_id in self.area else outside_weight) for z in index.zones}
        self._cum_weights = list(itertools.accumulate(z.demand_weight for z in self._zones))
        self._zone_cache: dict[tuple[int, int], str | None] = {}

    def zone_near(self, lat: float, lon: float) -> str | None:
        """Zone of the ~110 m grid cell holding the point (cached): exact inside zones, approximate within
        one cell of a border, which is all sampling needs and ~30x cheaper than point-in-polygon."""
        key = (int(lat * 1000), int(lon * 1000))
        if key not in self._zone_cache:
            self._zone_cache[key] = self.index.zone_of(key[0] / 1000 + 0.0005 * (1 if lat >= 0 else -1),
                                                       key[1] / 1000 + 0.0005 * (1 if lon >= 0 else -1))
        return self._zone_cache[key]

    def in_area(self, zone_id: str | None) -> bool:
        return zone_id is not None and zone_id in self.area

    def weighted_zone(self, rng: random.Random) -> Zone:
        """A zone of the service area drawn by demand weight."""
        i = bisect.bisect_left(self._cum_weights, rng.random() * self._cum_weights[-1])
        return self._zones[min(i, len(self._zones) - 1)]

    def nearby_weighted_zone(self, lat: float, lon: float, radius_km: float, rng: random.Random,
                             weights: Mapping[str, float] | None = None) -> Zone:
        """A service-area zone whose centroid is within `radius_km`, drawn by `weights` (zone id -> weight;
        default the static demand weight), or the nearest service-area zone if none is that close."""
        near = [z for z in self._zones if haversine_m(lat, lon, z.centroid_lat, z.centroid_lon) <= radius_km * 1000]
        if not near:
            return min(self._zones, key=lambda z: haversine_m(lat, lon, z.centroid_lat, z.centroid_lon))
        w = [weights.get(z.zone_id, 0.0) if weights is not None else z.demand_weight for z in near]
        pick = rng.random() * sum(w)
        for zone, weight in zip(near, w, strict=True):
            pick -= weight
            if pick < 0:
                return zone
        return near[-1]

    def point_in_zone(self, zone: Zone, rng: random.Random) -> tuple[float, float]:
        """A uniform point inside the zone's polygon (rejection sampling in its bounding box)."""
        min_lon, min_lat, max_lon, max_lat = zone.bbox
        for _ in range(200):
            lat = rng.uniform(min_lat, max_lat)
            lon = rng.uniform(min_lon, max_lon)
            if zone.contains(lat, lon):
                return lat, lon
        return zone.centroid_lat, zone.centroid_lon

    def weighted_point(self, rng: random.Random) -> tuple[float, float, str]:
        zone = self.weighted_zone(rng)
        lat, lon = self.point_in_zone(zone, rng)
        return lat, lon, zone.zone_id

    def point_at_distance(self, lat: float, lon: float, km: float, rng: random.Random) -> tuple[float, float, str]:
        """A point inside the city about `km` (straight line) away, biased toward demand and the service
        area: of a few random bearings the one landing in the zone of highest destination weight wins.
        Shrinks the distance when every bearing leaves the city."""
        for attempt in range(6):
            dist_m = km * 1000 * (0.8**attempt)
            best: tuple[float, float, str] | None = None
            best_weight = -1.0
            for _ in range(3):
                bearing = rng.uniform(0, 2 * math.pi)
                plat, plon = offset_m(lat, lon, dist_m * math.cos(bearing), dist_m * math.sin(bearing))
                zone_id = self.zone_near(plat, plon)
                if zone_id is not None and self._destination_weight[zone_id] > best_weight:
                    best = (plat, plon, zone_id)
                    best_weight = self._destination_weight[zone_id]
            if best is not None:
                return best
        return self.weighted_point(rng)
