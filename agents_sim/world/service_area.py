"""The service area: the districts a (scaled-down) world operates in.

A world of a few hundred drivers spread over the whole 1,500 km² city is far sparser than the real
one: pickups get long and drivers idle between far-apart requests, so the KPIs of a small run say
nothing about the real city. Density-preserving scaling sizes the area by the fleet instead: the
automatic service area is the contiguous set of highest-demand districts grown outward from the
Paulista/Consolação centre until it holds the fleet at the density the parameters are calibrated at
(`ServiceAreaParams`), never smaller than the area a realistic trip-length distribution needs. A
bigger world therefore covers more of the city, not the same districts more densely. Demand (request origins,
homes), driver placement and repositioning stay inside it; destinations may leave it (less likely
than inside), and drivers who end up outside head back.

Pure functions over `Zone`s (no SimPy, no I/O).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from agents_sim.exceptions import ConfigError
from agents_sim.params import ServiceAreaParams
from schemas.zones import CENTRE, Zone, ZoneIndex

__all__ = ["ServiceArea", "adjacency", "select_service_area"]


@dataclass(frozen=True)
class ServiceArea:
    zone_ids: frozenset[str]
    area_km2: float
    target_km2: float | None  # None when the area was given explicitly
    mode: str  # "auto", "all" or "explicit"

    def __contains__(self, zone_id: object) -> bool:
        return zone_id in self.zone_ids

    def describe(self) -> str:
        basis = f", target {self.target_km2:.0f} km²" if self.target_km2 is not None else ""
        return f"{self.mode}: {len(self.zone_ids)} districts, {self.area_km2:.0f} km²{basis}"


def adjacency(zones: Sequence[Zone]) -> dict[str, frozenset[str]]:
    """Districts sharing a boundary vertex (the GeoJSON polygons share their common borders exactly)."""
    owners: dict[tuple[float, float], set[str]] = {}
    for zone in zones:
        for lon, lat in zone.ring:
            owners.setdefault((round(lon, 5), round(lat, 5)), set()).add(zone.zone_id)
    neighbours: dict[str, set[str]] = {z.zone_id: set() for z in zones}
    for ids in owners.values():
        for zone_id in ids:
            neighbours[zone_id] |= ids - {zone_id}
    return {zone_id: frozenset(ids) for zone_id, ids in neighbours.items()}


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.strip().upper()) if not unicodedata.combining(c))


def _explicit(index: ZoneIndex, names: Sequence[str]) -> frozenset[str]:
    by_name = {_fold(z.name): z.zone_id for z in index.zones} | {_fold(z.sigla): z.zone_id for z in index.zones}
    chosen: set[str] = set()
    for name in names:
        zone_id = name.strip() if name.strip() in index.by_id else by_name.get(_fold(name))
        if zone_id is None:
            raise ConfigError(f"service area: {name!r} is no district id, name or sigla; `rideshare sim describe` lists them")
        chosen.add(zone_id)
    if not chosen:
        raise ConfigError("service area: the list of districts is empty (use 'auto' or 'all')")
    return frozenset(chosen)


def target_area_km2(params: ServiceAreaParams, drivers: int) -> float:
    """Area holding `drivers` at the calibrated fleet density, floored by what trip lengths need."""
    return max(params.min_km2, drivers / params.drivers_per_km2)


def _grow(index: ZoneIndex, target_km2: float) -> frozenset[str]:
    """From the district at the centre, add the neighbouring district of highest demand density
    (demand weight per km²) until the area reaches the target: a contiguous, demand-first area."""
    zones = index.by_id
    neighbours = adjacency(index.zones)
    start = index.nearest_zone(*CENTRE)
    chosen = {start}
    area = zones[start].area_km2
    frontier = set(neighbours[start])
    while area < target_km2 and frontier:
        best = max(frontier, key=lambda zid: (zones[zid].demand_weight / zones[zid].area_km2, zid))
        frontier.discard(best)
        chosen.add(best)
        area += zones[best].area_km2
        frontier |= neighbours[best] - chosen
    return frozenset(chosen)


def select_service_area(index: ZoneIndex, params: ServiceAreaParams, drivers: int) -> ServiceArea:
    """The districts a world of `drivers` drivers operates in (see the module docstring)."""
    spec = params.zones
    target: float | None = None
    if spec == "all":
        ids, mode = frozenset(index.by_id), "all"
    elif spec == "auto":
        target = target_area_km2(params, drivers)
        ids, mode = _grow(index, target), "auto"
    else:
        ids, mode = _explicit(index, spec), "explicit"
    return ServiceArea(zone_ids=ids, area_km2=sum(index.by_id[z].area_km2 for z in ids), target_km2=target, mode=mode)
