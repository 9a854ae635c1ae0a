"""The zone model: São Paulo's 96 districts with derived demand weight and surge sensitivity.

Pure Python (no SimPy, no I/O beyond reading the packaged GeoJSON once), so the surge topology and
the API can import `load_zones()`, `ZoneIndex.zone_of(lat, lon)` and `zones_geojson()` directly.

Derived attributes (no population or trip data ships with the project, so they rest on geography
and judgement, documented here):

- `demand_weight` (sums to 1): ride-hailing demand concentrates in the expanded centre (trips in
  São Paulo's app data are densest around Paulista, Pinheiros, Itaim and Centro and thin out toward
  the periphery). Weight = effective area (capped at 20 km², so huge rural districts such as Marsilac
  do not dominate) × (0.001 + e^(-d/2.2 km)) × hub factor (about 95 % of requests start within 8 km
  of the centre, the expanded centre where app rides concentrate), where d is the centroid's distance to the
  Paulista/Consolação centre, hub factor 2.0 for the business/nightlife core and 1.5 for regional
  centres (Santo Amaro, Tatuapé, Santana, Lapa, ...).
- `surge_sensitivity` (0.16–0.29): how strongly a zone's multiplier reacts to a demand/supply
  imbalance (read by the surge topology): a zone with twice as many requests as available drivers
  over the window heads for 1 + sensitivity (1.16–1.29×); a tighter imbalance goes further, within
  São Paulo's observed 1.25–2.7× spikes. Central zones with bursty event and office demand react
  more: 0.16 + 0.11 × e^(-d/8 km) (+0.02 for hubs). Calibrated in closed-loop simulated weekdays
  against the surge band (10–30 % of trips surged at a mean of 1.2–1.6×); the earlier 0.8–1.5
  surged over a third of all trips.
- `dense_core`: districts with urban canyons where phone GPS produces outliers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from schemas.geo import haversine_m, metres_per_degree

__all__ = ["Zone", "ZoneIndex", "load_zones", "zone_index", "zones_geojson"]

CENTRE = (-23.5575, -46.6590)  # Av. Paulista / Consolação
CORE_HUBS = frozenset({"SE", "REPUBLICA", "BELA VISTA", "CONSOLACAO", "JARDIM PAULISTA", "PINHEIROS", "ITAIM BIBI"})
REGIONAL_HUBS = frozenset({
    "MOEMA", "VILA MARIANA", "SANTO AMARO", "TATUAPE", "SANTANA", "LAPA", "PERDIZES", "SANTA CECILIA",
    "LIBERDADE", "BARRA FUNDA", "MOOCA", "BUTANTA", "CAMPO BELO", "VILA ANDRADE",
})
DENSE_CORE = CORE_HUBS
_GRID_DEG = 0.02  # bucket size of the point-in-zone index (~2 km)


@dataclass(frozen=True)
class Zone:
    zone_id: str
    sigla: str
    name: str
    subprefecture: str
    ring: tuple[tuple[float, float], ...]  # outer ring as (lon, lat), GeoJSON order
    centroid_lat: float
    centroid_lon: float
    area_km2: float
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    demand_weight: float
    surge_sensitivity: float
    dense_core: bool

    def contains(self, lat: float, lon: float) -> bool:
        min_lon, min_lat, max_lon, max_lat = self.bbox
        if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
            return False
        return _point_in_ring(lon, lat, self.ring)


def _point_in_ring(x: float, y: float, ring: Sequence[tuple[float, float]]) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _area_and_centroid(ring: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    """(area km², centroid lat, centroid lon) in a local equirectangular projection."""
    lat0 = sum(p[1] for p in ring) / len(ring)
    m_lat, m_lon = metres_per_degree(lat0)
    pts = [(lon * m_lon, lat * m_lat) for lon, lat in ring]
    area2 = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        cross = x1 * y2 - x2 * y1
        area2 += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    area = area2 / 2
    return abs(area) / 1e6, cy / (6 * area) / m_lat, cx / (6 * area) / m_lon


def _hub_factor(name: str) -> float:
    return 2.0 if name in CORE_HUBS else 1.5 if name in REGIONAL_HUBS else 1.0


@cache
def load_zones() -> tuple[Zone, ...]:
    """The 96 districts, sorted by zone id (numeric `ds_codigo`), with derived attributes."""
    source = json.loads(resources.files("schemas").joinpath("data/sao-paulo-districts.geojson").read_text())
    raw = []
    for feature in source["features"]:
        props = feature["properties"]
        ring = tuple((float(x), float(y)) for x, y in feature["geometry"]["coordinates"][0])
        if ring[0] == ring[-1]:
            ring = ring[:-1]
        area, clat, clon = _area_and_centroid(ring)
        d_km = haversine_m(clat, clon, *CENTRE) / 1000
        name = props["ds_nome"]
        hub = _hub_factor(name)
        weight = min(area, 20.0) * (0.001 + math.exp(-d_km / 2.2)) * hub
        sensitivity = 0.16 + 0.11 * math.exp(-d_km / 8) + (0.02 if hub > 1 else 0.0)
        raw.append((props, ring, area, clat, clon, weight, sensitivity, name))
    total = sum(r[5] for r in raw)
    zones = [
        Zone(
            zone_id=str(props["ds_codigo"]), sigla=props["ds_sigla"], name=name, subprefecture=props["ds_subpref"],
            ring=ring, centroid_lat=clat, centroid_lon=clon, area_km2=round(area, 3),
            bbox=(min(p[0] for p in ring), min(p[1] for p in ring), max(p[0] for p in ring), max(p[1] for p in ring)),
            demand_weight=weight / total, surge_sensitivity=round(sensitivity, 3), dense_core=name in DENSE_CORE,
        )
        for props, ring, area, clat, clon, weight, sensitivity, name in raw
    ]
    return tuple(sorted(zones, key=lambda z: int(z.zone_id)))


class ZoneIndex:
    """Point -> zone lookup over a coarse grid of candidate zones (bounding-box buckets)."""

    def __init__(self, zones: Sequence[Zone] | None = None) -> None:
        self.zones: tuple[Zone, ...] = tuple(zones if zones is not None else load_zones())
        self.by_id: dict[str, Zone] = {z.zone_id: z for z in self.zones}
        self._buckets: dict[tuple[int, int], list[Zone]] = {}
        for zone in self.zones:
            min_lon, min_lat, max_lon, max_lat = zone.bbox
            for gx in range(math.floor(min_lon / _GRID_DEG), math.floor(max_lon / _GRID_DEG) + 1):
                for gy in range(math.floor(min_lat / _GRID_DEG), math.floor(max_lat / _GRID_DEG) + 1):
                    self._buckets.setdefault((gx, gy), []).append(zone)

    def zone_of(self, lat: float, lon: float) -> str | None:
        """Id of the district containing the point, or None outside the city."""
        for zone in self._buckets.get((math.floor(lon / _GRID_DEG), math.floor(lat / _GRID_DEG)), ()):
            if zone.contains(lat, lon):
                return zone.zone_id
        return None

    def nearest_zone(self, lat: float, lon: float) -> str:
        """The containing zone, else the zone with the nearest centroid (points just outside the border)."""
        found = self.zone_of(lat, lon)
        if found is not None:
            return found
        return min(self.zones, key=lambda z: (z.centroid_lat - lat) ** 2 + (z.centroid_lon - lon) ** 2).zone_id

    def surge_sensitivity(self, zone_id: str) -> float:
        return self.by_id[zone_id].surge_sensitivity


@cache
def zone_index() -> ZoneIndex:
    """The process-wide index over `load_zones()`."""
    return ZoneIndex()


def zones_geojson(zones: Sequence[Zone] | None = None) -> dict[str, Any]:
    """The zones as a GeoJSON FeatureCollection (properties: zone_id, name, sigla, subprefecture,
    demand_weight, surge_sensitivity, centroid_lat, centroid_lon, area_km2, dense_core)."""
    features = []
    for zone in zones if zones is not None else load_zones():
        ring = [list(p) for p in zone.ring] + [list(zone.ring[0])]
        features.append({
            "type": "Feature",
            "id": zone.zone_id,
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {
                "zone_id": zone.zone_id, "name": zone.name, "sigla": zone.sigla, "subprefecture": zone.subprefecture,
                "demand_weight": round(zone.demand_weight, 6), "surge_sensitivity": zone.surge_sensitivity,
                "centroid_lat": round(zone.centroid_lat, 6), "centroid_lon": round(zone.centroid_lon, 6),
                "area_km2": zone.area_km2, "dense_core": zone.dense_core,
            },
        })
    return {"type": "FeatureCollection", "features": features}
