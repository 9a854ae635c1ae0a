"""Positions polled from the simulation: normalised to the live-state shape, only changes forwarded."""

from __future__ import annotations

from agents_sim.api.live.feeds import changed_positions, normalise_position


def test_simulation_positions_get_the_live_state_field_names() -> None:
    driver = normalise_position({"driver_id": "D1", "lat": -23.5, "lon": -46.6, "status": "available"})
    assert (driver["entity_type"], driver["entity_id"], driver["driver_status"]) == ("driver", "D1", "available")
    rider = normalise_position({"rider_id": "R1", "lat": -23.5, "lon": -46.6, "status": "waiting"})
    assert (rider["entity_type"], rider["entity_id"]) == ("rider", "R1")
    already = {"entity_type": "rider", "entity_id": "R2", "lat": 1.0, "lon": 2.0}
    assert normalise_position(already) == already


def test_only_moved_changed_or_removed_entities_are_forwarded() -> None:
    d1 = {"entity_type": "driver", "entity_id": "D1", "lat": 1.0, "lon": 2.0, "driver_status": "available"}
    d2 = {"entity_type": "driver", "entity_id": "D2", "lat": 3.0, "lon": 4.0, "driver_status": "available"}
    changed, seen = changed_positions({}, [d1, d2])
    assert changed == [d1, d2]
    changed, seen = changed_positions(seen, [d1, d2])
    assert changed == []
    d1_moved, d2_busy = {**d1, "lat": 1.1}, {**d2, "driver_status": "on_trip"}
    changed, seen = changed_positions(seen, [d1_moved, d2_busy])
    assert changed == [d1_moved, d2_busy]
    changed, seen = changed_positions(seen, [d1_moved])
    assert changed == [{"entity_type": "driver", "entity_id": "D2", "removed": True}] and set(seen) == {"driver:D1"}
