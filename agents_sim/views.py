"""Read-only JSON-ready views of a running simulation (used by the runtime, the API and the CLI).
Callers hold the runtime's lock; these functions never change the simulation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents_sim.agents.state import Driver, Rider, Trip

if TYPE_CHECKING:
    from agents_sim.simulation import Simulation

__all__ = ["MAX_ROUTE_POINTS", "active_trips", "driver_view", "metrics", "positions", "rider_view", "trip_view"]

# A view's route is thinned to at most this many points (street routes from OSRM can have thousands).
MAX_ROUTE_POINTS = 400


def _position(sim: Simulation, driver: Driver) -> tuple[float, float]:
    if driver.leg is not None and driver.status != "offline":
        lat, lon, _ = driver.leg.position(sim.now)
        return lat, lon
    return driver.lat, driver.lon


def trip_view(sim: Simulation, trip: Trip) -> dict[str, Any]:
    p_lat, p_lon, p_zone = trip.pickup
    d_lat, d_lon, d_zone = trip.dropoff
    return {
        "trip_id": trip.trip_id, "state": trip.state.value, "rider_id": trip.rider.rider_id,
        "driver_id": trip.driver.driver_id if trip.driver is not None else None,
        "pickup": {"lat": p_lat, "lon": p_lon, "zone_id": p_zone}, "dropoff": {"lat": d_lat, "lon": d_lon, "zone_id": d_zone},
        "surge_multiplier": trip.surge_multiplier, "fare_estimate_brl": trip.fare_estimate_brl, "requested_ms": trip.requested_ms,
        "route": _thinned(trip.leg.route.as_lonlat()) if trip.leg is not None else [],
        "route_purpose": trip.leg.purpose if trip.leg is not None else None,
    }


def _thinned(points: list[Any]) -> list[Any]:
    """Every k-th point and the last one, so a view stays bounded whatever the router returned."""
    if len(points) <= MAX_ROUTE_POINTS:
        return points
    step = -(-len(points) // (MAX_ROUTE_POINTS - 1))
    return [*points[:-1:step], points[-1]]


def active_trips(sim: Simulation) -> list[dict[str, Any]]:
    return [trip_view(sim, trip) for trip in sim.trips.values()]


def driver_view(sim: Simulation, driver: Driver) -> dict[str, Any]:
    lat, lon = _position(sim, driver)
    return {
        "driver_id": driver.driver_id, "status": driver.status, "lat": lat, "lon": lon, "rating": round(driver.rating, 3),
        "trips_completed": driver.trips_completed, "shift_end_ms": driver.shift_end_ms or None,
        "profile": dict(driver.profile), "dna": _dna(driver.dna),
        "active_trip": trip_view(sim, driver.trip) if driver.trip is not None else None,
        "history": list(driver.history),
    }


def rider_view(sim: Simulation, rider: Rider) -> dict[str, Any]:
    return {
        "rider_id": rider.rider_id, "status": rider.status, "lat": rider.lat, "lon": rider.lon, "zone_id": rider.zone_id,
        "rating": round(rider.rating, 3), "trips_completed": rider.trips_completed,
        "profile": dict(rider.profile), "dna": _dna(rider.dna),
        "active_trip": trip_view(sim, rider.trip) if rider.trip is not None else None,
        "history": list(rider.history),
    }


def _dna(dna: Any) -> dict[str, Any]:
    out = {}
    for name in dna.__slots__:
        value = getattr(dna, name)
        if name == "destinations":
            value = [{"lat": d.lat, "lon": d.lon, "zone_id": d.zone_id, "kind": d.kind} for d in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def positions(sim: Simulation) -> list[dict[str, Any]]:
    """Every online driver and every rider waiting for a car, in the live map's shape (`LivePosition`)."""
    out: list[dict[str, Any]] = []
    now = sim.now
    for driver in sim.drivers.values():
        if driver.status == "offline":
            continue
        lat, lon = _position(sim, driver)
        moving = driver.leg is not None
        out.append({"entity_type": "driver", "entity_id": driver.driver_id, "lat": lat, "lon": lon,
                    "heading_deg": driver.heading, "speed_kmh": round(driver.leg.speed_kmh, 1) if moving else 0.0,
                    "status": driver.status, "trip_id": driver.trip.trip_id if driver.trip is not None else None, "event_time": now})
    for rider in sim.riders.values():
        if rider.status == "waiting":
            out.append({"entity_type": "rider", "entity_id": rider.rider_id, "lat": rider.lat, "lon": rider.lon, "heading_deg": 0.0,
                        "speed_kmh": 0.0, "status": "waiting", "trip_id": rider.trip.trip_id if rider.trip is not None else None,
                        "event_time": now})
    return out


def metrics(sim: Simulation) -> dict[str, Any]:
    """Overview counters, per-zone stats with the current surge multiplier, trips/drivers/riders by status."""
    drivers_by_status: dict[str, int] = {}
    available_by_zone: dict[str, int] = {}
    for driver in sim.drivers.values():
        drivers_by_status[driver.status] = drivers_by_status.get(driver.status, 0) + 1
        if driver.status in ("available", "repositioning"):
            lat, lon = _position(sim, driver)
            zone = sim.zones.zone_of(lat, lon)
            if zone is not None:
                available_by_zone[zone] = available_by_zone.get(zone, 0) + 1
    riders_by_status: dict[str, int] = {}
    for rider in sim.riders.values():
        riders_by_status[rider.status] = riders_by_status.get(rider.status, 0) + 1
    waiting_by_zone: dict[str, int] = {}
    for trip in sim.trips.values():
        waiting_by_zone[trip.pickup[2]] = waiting_by_zone.get(trip.pickup[2], 0) + 1
    zones = []
    for zone in sim.zones.zones:
        stats = sim.stats.zones.get(zone.zone_id)
        zones.append({
            "zone_id": zone.zone_id, "name": zone.name, "surge_multiplier": sim.surge.multiplier(zone.zone_id),
            "requests": stats.requests if stats else 0, "completed": stats.completed if stats else 0,
            "cancelled": stats.cancelled if stats else 0, "no_drivers": stats.no_drivers if stats else 0,
            "available_drivers": available_by_zone.get(zone.zone_id, 0), "active_trips": waiting_by_zone.get(zone.zone_id, 0),
        })
    return {
        "sim_time_ms": sim.now, "events_emitted": sim.events.counter, "events_by_schema": dict(sim.events.by_schema),
        "overview": sim.stats.overview(), "trips_by_state": sim.active_trip_states(),
        "drivers_by_status": drivers_by_status, "riders_by_status": riders_by_status, "zones": zones,
    }
