"""Every position and surge source reaches the hub in the WebSocket's one shape; only changes are forwarded."""

from __future__ import annotations

import math

from agents_sim.api.live.feeds import changed_positions, live_position, surge_zone
from agents_sim.api.models import LivePosition, SurgeZone


def test_gps_topology_and_simulation_positions_get_the_same_wire_shape() -> None:
    from_redis = live_position({"entity_type": "driver", "entity_id": "D1", "lat": -23.5, "lon": -46.6, "heading_deg": 90.0,
                                "speed_kmh": 31.5, "driver_status": "on_trip", "trip_id": "T1", "window_end": 1_000,
                                "ping_count": 2, "distance_m": 12.0})
    from_sim = live_position({"entity_type": "rider", "entity_id": "R1", "lat": -23.5, "lon": -46.6, "heading_deg": 0.0,
                              "speed_kmh": 0.0, "status": "waiting", "trip_id": None, "event_time": 2_000})
    assert from_redis == {"entity_type": "driver", "entity_id": "D1", "lat": -23.5, "lon": -46.6, "heading_deg": 90.0,
                          "speed_kmh": 31.5, "status": "on_trip", "trip_id": "T1", "event_time": 1_000, "window_end": 1_000}
    assert from_sim is not None and from_sim["status"] == "waiting" and from_sim["event_time"] == 2_000 and from_sim["window_end"] is None
    for position in (from_redis, from_sim):
        assert LivePosition.model_validate(position).model_dump() == position


def test_positions_that_cannot_be_drawn_are_dropped() -> None:
    good = {"entity_type": "driver", "entity_id": "D1", "lat": -23.5, "lon": -46.6}
    assert live_position(good) is not None
    for bad in ({**good, "lat": math.nan}, {**good, "lon": "x"}, {**good, "entity_type": "bus"}, {**good, "entity_id": ""},
                {**good, "lat": True}, "not a dict", None):
        assert live_position(bad) is None, bad


def test_surge_zones_are_typed_or_dropped() -> None:
    zone = surge_zone({"zone_id": 42, "surge_multiplier": 1.8, "demand_count": 30, "supply_count": 4, "window_end": 1_000})
    assert zone == {"zone_id": "42", "surge_multiplier": 1.8, "demand_count": 30, "supply_count": 4, "window_end": 1_000}
    assert SurgeZone.model_validate(zone).model_dump() == zone
    assert surge_zone({"zone_id": "1"}) is None and surge_zone({"surge_multiplier": 2.0}) is None


def _driver(entity_id: str, lat: float, status: str = "available") -> dict[str, object]:
    position = live_position({"entity_type": "driver", "entity_id": entity_id, "lat": lat, "lon": 2.0, "status": status})
    assert position is not None
    return position


def test_only_moved_changed_or_removed_entities_are_forwarded() -> None:
    d1, d2 = _driver("D1", 1.0), _driver("D2", 3.0)
    changed, removed, seen = changed_positions({}, [d1, d2])
    assert changed == [d1, d2] and removed == []
    changed, removed, seen = changed_positions(seen, [d1, d2])
    assert changed == [] and removed == []
    d1_moved, d2_busy = _driver("D1", 1.1), _driver("D2", 3.0, "on_trip")
    changed, removed, seen = changed_positions(seen, [d1_moved, d2_busy])
    assert changed == [d1_moved, d2_busy]
    changed, removed, seen = changed_positions(seen, [d1_moved])
    assert changed == [] and removed == ["driver:D2"] and set(seen) == {"driver:D1"}
