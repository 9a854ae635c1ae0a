"""The city a simulation runs in: zones, service area, places, streets, traffic and the demand curve.

Everything here is fixed when the world is built (drivers spawned later join the same service area)
and shared read-only by the simulation's collaborators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from agents_sim.demand import DemandCurve
from agents_sim.params import SAO_PAULO, SimConfig
from agents_sim.world.router import GridRouter, OsrmRouter, Router, TrafficModel
from agents_sim.world.sampling import PlaceSampler
from agents_sim.world.service_area import ServiceArea, select_service_area
from schemas.zones import Zone, ZoneIndex, zone_index

__all__ = ["City", "build_city"]

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class City:
    zones: ZoneIndex
    service_area: ServiceArea
    places: PlaceSampler
    area_zones: tuple[Zone, ...]  # the service area's zones, in zone order
    traffic: TrafficModel
    router: Router
    demand: DemandCurve
    utc_offset_ms: int
    app_share: Mapping[str, float]  # zone id -> share of trips from there made by app (0 outside the area)
    core_bbox: BBox  # bounding box of the dense core (GPS urban-canyon outliers)


def _utc_offset_ms(start_ms: int) -> int:
    offset = datetime.fromtimestamp(start_ms / 1000, SAO_PAULO).utcoffset()
    assert offset is not None  # an aware datetime always has one
    return int(offset.total_seconds() * 1000)


def _dense_core_bbox(zones: ZoneIndex) -> BBox:
    core = [z for z in zones.zones if z.dense_core] or list(zones.zones)
    return (min(z.bbox[0] for z in core), min(z.bbox[1] for z in core), max(z.bbox[2] for z in core), max(z.bbox[3] for z in core))


def build_city(config: SimConfig, *, zones: ZoneIndex | None = None, router: Router | None = None,
               osrm_url: str | None = None) -> City:
    zones = zones or zone_index()
    utc_offset_ms = _utc_offset_ms(config.start_ms)
    # Density-preserving scaling: a small fleet serves a proportionally small area.
    area = select_service_area(zones, config.service_area, config.drivers)
    traffic = TrafficModel(config.traffic, utc_offset_ms)
    n_zones = len(zones.zones)
    exponent = config.demand.app_share_exponent
    # Outside the service area the world's app does not operate: riders dropped there go home by other means.
    app_share = {z.zone_id: min(1.0, (z.demand_weight * n_zones) ** exponent) if z.zone_id in area else 0.0 for z in zones.zones}
    return City(
        zones=zones, service_area=area,
        places=PlaceSampler(zones, area.zone_ids, config.service_area.outside_destination_weight),
        area_zones=tuple(z for z in zones.zones if z.zone_id in area),
        traffic=traffic,
        router=router or (OsrmRouter(osrm_url, traffic) if osrm_url else GridRouter(traffic)),
        demand=DemandCurve(config.demand, utc_offset_ms),
        utc_offset_ms=utc_offset_ms, app_share=app_share, core_bbox=_dense_core_bbox(zones),
    )
