from __future__ import annotations

import random

import pytest

from agents_sim.params import TrafficParams
from agents_sim.world.router import GridRouter, TrafficModel
from schemas.geo import encode_polyline, haversine_m
from schemas.zones import ZoneIndex, load_zones, zones_geojson

SP_OFFSET_MS = -3 * 3_600_000
MONDAY_0800_UTC = 1772449200000  # 2026-03-02 08:00 in São Paulo


def test_96_districts_with_weights_summing_to_one() -> None:
    zones = load_zones()
    assert len(zones) == 96
    assert sum(z.demand_weight for z in zones) == pytest.approx(1.0)
    assert all(0.15 <= z.surge_sensitivity <= 0.3 for z in zones)
    by_name = {z.name: z for z in zones}
    assert by_name["PINHEIROS"].demand_weight > 5 * by_name["MARSILAC"].demand_weight


def test_point_in_zone_finds_known_places_and_none_outside() -> None:
    index = ZoneIndex()
    assert index.by_id[index.zone_of(-23.5614, -46.6559)].name in {"BELA VISTA", "JARDIM PAULISTA", "CONSOLACAO"}  # Av. Paulista
    assert index.by_id[index.zone_of(-23.5505, -46.6333)].name == "SE"  # Praça da Sé
    assert index.zone_of(-22.9, -43.2) is None  # Rio de Janeiro
    for zone in load_zones():
        assert index.zone_of(zone.centroid_lat, zone.centroid_lon) == zone.zone_id


def test_geojson_has_every_zone_with_its_properties() -> None:
    fc = zones_geojson()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 96
    props = fc["features"][0]["properties"]
    assert {"zone_id", "name", "demand_weight", "surge_sensitivity", "centroid_lat", "centroid_lon"} <= props.keys()
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]


def test_router_polylines_are_longer_than_the_straight_line_like_streets() -> None:
    router = GridRouter(TrafficModel(TrafficParams(), SP_OFFSET_MS))
    rng = random.Random(5)
    ratios = []
    for _ in range(300):
        a = (-23.55 + rng.uniform(-0.08, 0.08), -46.64 + rng.uniform(-0.08, 0.08))
        b = (-23.55 + rng.uniform(-0.08, 0.08), -46.64 + rng.uniform(-0.08, 0.08))
        route = router.route(*a, *b, depart_ms=MONDAY_0800_UTC)
        straight = haversine_m(*a, *b)
        assert route.points[0] == a and route.points[-1] == b
        assert route.polyline_m >= straight * 0.999
        ratios.append(route.distance_m / straight)
    mean = sum(ratios) / len(ratios)
    assert 1.25 <= mean <= 1.5  # realistic network detour factor
    assert len(route.points) > 2  # turns along the grid, not one straight segment


def test_traffic_makes_the_evening_peak_slower_than_the_night() -> None:
    router = GridRouter(TrafficModel(TrafficParams(), SP_OFFSET_MS))
    peak = router.route(-23.55, -46.65, -23.60, -46.68, depart_ms=MONDAY_0800_UTC + 10 * 3_600_000)  # 18:00
    night = router.route(-23.55, -46.65, -23.60, -46.68, depart_ms=MONDAY_0800_UTC - 5 * 3_600_000)  # 03:00
    assert peak.distance_m == night.distance_m
    assert peak.duration_s > 1.6 * night.duration_s


def test_encoded_polyline_matches_googles_reference() -> None:
    assert encode_polyline([(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
