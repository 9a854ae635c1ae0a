"""Test helper: riders of a running simulation asking for rides from one zone, now."""

from __future__ import annotations

from agents_sim.agents.state import Rider, Trip
from agents_sim.simulation import Simulation

__all__ = ["ask_in_zone"]


def ask_in_zone(sim: Simulation, riders: list[Rider], zone_id: str) -> list[Trip | None]:
    """These riders open the app at the centre of one zone, now (None: refused at the quote)."""
    centre = sim.city.zones.by_id[zone_id]
    trips = []
    for rider in riders:
        rider.lat, rider.lon, rider.zone_id = centre.centroid_lat, centre.centroid_lon, zone_id
        trips.append(sim.trip_flow.request_trip(rider, None))
    return trips
