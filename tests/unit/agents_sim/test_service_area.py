from __future__ import annotations

import random

import pytest

from agents_sim.exceptions import ConfigError
from agents_sim.params import ServiceAreaParams
from agents_sim.world.sampling import PlaceSampler
from agents_sim.world.service_area import adjacency, select_service_area, target_area_km2
from schemas.zones import ZoneIndex, load_zones


def _connected(ids: frozenset[str]) -> bool:
    neighbours = adjacency(load_zones())
    start = next(iter(ids))
    seen, todo = {start}, [start]
    while todo:
        for other in neighbours[todo.pop()] & ids:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen == set(ids)


def test_auto_area_is_contiguous_around_the_centre_and_sized_by_the_fleet() -> None:
    index = ZoneIndex()
    params = ServiceAreaParams(min_km2=30.0, drivers_per_km2=100.0)
    small = select_service_area(index, params, 400)
    large = select_service_area(index, params, 40_000)
    names = {index.by_id[z].name for z in small.zone_ids}
    assert {"BELA VISTA", "CONSOLACAO"} & names  # grown from the Paulista centre
    assert small.area_km2 >= 30.0 and small.area_km2 < 60.0  # the floor, plus at most one district
    assert large.area_km2 >= 400.0 and small.zone_ids < large.zone_ids
    assert _connected(small.zone_ids) and _connected(large.zone_ids)
    assert target_area_km2(params, 40_000) == 400.0


def test_a_larger_world_covers_more_of_the_city_at_the_calibrated_density() -> None:
    index = ZoneIndex()
    defaults = ServiceAreaParams()
    calibrated = select_service_area(index, defaults, 400)
    larger = select_service_area(index, defaults, 1_000)
    assert 60.0 <= calibrated.area_km2 < 70.0  # the defaults: the 60 km² floor, plus part of one district
    assert calibrated.zone_ids < larger.zone_ids and larger.area_km2 >= 150.0
    density = [400 / calibrated.area_km2, 1_000 / larger.area_km2]
    assert max(density) / min(density) < 1.15, density  # not the same districts packed 2.5 times as densely


def test_auto_area_picks_dense_demand_first() -> None:
    index = ZoneIndex()
    area = select_service_area(index, ServiceAreaParams(min_km2=100.0), 400)
    inside = [index.by_id[z] for z in area.zone_ids]
    outside = [z for z in index.zones if z.zone_id not in area]
    mean_density = lambda zones: sum(z.demand_weight for z in zones) / sum(z.area_km2 for z in zones)  # noqa: E731
    assert mean_density(inside) > 10 * mean_density(outside)


def test_all_and_explicit_areas_and_unknown_districts() -> None:
    index = ZoneIndex()
    assert len(select_service_area(index, ServiceAreaParams(zones="all"), 10).zone_ids) == 96
    explicit = select_service_area(index, ServiceAreaParams(zones=("Pinheiros", "itaim bibi")), 10)
    assert {index.by_id[z].name for z in explicit.zone_ids} == {"PINHEIROS", "ITAIM BIBI"} and explicit.mode == "explicit"
    with pytest.raises(ConfigError, match="no district"):
        select_service_area(index, ServiceAreaParams(zones=("Atlantis",)), 10)
    with pytest.raises(ConfigError):
        ServiceAreaParams(zones="half")


def test_origins_stay_inside_the_area_and_destinations_mostly_do() -> None:
    index = ZoneIndex()
    area = select_service_area(index, ServiceAreaParams(min_km2=60.0, outside_destination_weight=0.15), 400)
    places = PlaceSampler(index, area.zone_ids, 0.15)
    everywhere = PlaceSampler(index)
    rng = random.Random(3)
    origins = [places.weighted_point(rng) for _ in range(300)]
    assert all(zone_id in area for _, _, zone_id in origins)
    inside = sum(places.point_at_distance(lat, lon, 4.0, rng)[2] in area for lat, lon, _ in origins)
    unbiased = sum(everywhere.point_at_distance(lat, lon, 4.0, rng)[2] in area for lat, lon, _ in origins)
    assert inside > unbiased and inside > 0.6 * len(origins)
    far = (-23.9, -46.7)  # Parelheiros: a repositioning target from outside comes from the area
    assert places.nearby_weighted_zone(*far, 8.0, rng).zone_id in area
