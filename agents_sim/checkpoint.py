"""Checkpoint a simulation to a file and restore it, trips in flight included.

SimPy processes are generators and cannot be saved, so a checkpoint holds the *data* of the world
(clock, counters, RNG states, every agent's DNA, profile and status, legs being driven, active trips
with their state and planned decisions) and `load` rebuilds the processes from it: a trip resumes
in the phase it was in (a car on its way keeps its route and arrival time; an offer in flight
expires; a rider being driven arrives when planned). Idle drivers that were driving about stop where
they are. The events after a restore continue the same world but are not byte-identical to an
uninterrupted run (every rider's next request time is drawn anew).
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents_sim.agents.state import Driver, Rider, Trip
from agents_sim.exceptions import CheckpointError
from agents_sim.fleet import MATCHABLE
from agents_sim.params import SimConfig
from agents_sim.simulation import Simulation
from agents_sim.sinks import Sink
from agents_sim.surge import SurgeSource

__all__ = ["FORMAT", "load", "save"]

FORMAT = "rideshare-sim-checkpoint/3"


def _driver_data(d: Driver) -> dict[str, Any]:
    return {"dna": d.dna, "ordinal": d.ordinal, "lat": d.lat, "lon": d.lon, "heading": d.heading, "profile": d.profile,
            "status": d.status, "leg": d.leg, "shift_end_ms": d.shift_end_ms, "rating_sum": d.rating_sum,
            "rating_count": d.rating_count, "trips_completed": d.trips_completed, "history": list(d.history)}


def _rider_data(r: Rider) -> dict[str, Any]:
    return {"dna": r.dna, "ordinal": r.ordinal, "lat": r.lat, "lon": r.lon, "zone_id": r.zone_id, "profile": r.profile,
            "status": r.status, "rating_sum": r.rating_sum, "rating_count": r.rating_count,
            "trips_completed": r.trips_completed, "history": list(r.history)}


_TRIP_FIELDS = ("trip_id", "pickup", "dropoff", "surge_multiplier", "fare_estimate_brl", "requested_ms", "state", "offer_sequence",
                "eta_s", "leg", "last_event_id", "assigned_ms", "picked_up_ms", "cancel_at_ms", "rider_cancel_reason",
                "driver_cancel_at_ms", "search_deadline_ms")


def save(sim: Simulation, path: Path) -> Path:
    """Write the world to `path` (pickle of plain data; only load files you wrote yourself)."""
    data = {
        "format": FORMAT, "config": sim.config, "session_id": sim.session_id, "now": sim.now,
        "event_counter": sim.events.counter, "by_schema": dict(sim.events.by_schema), "trip_counter": sim.trip_flow.trip_counter,
        "random": sim.random.getstate(), "stats": sim.stats,
        "accepting_requests": sim.accepting_requests,
        "heatmap": dict(sim.heatmap.recent),
        "drivers": [_driver_data(d) for d in sim.drivers.values()],
        "riders": [_rider_data(r) for r in sim.riders.values()],
        "trips": [{**{name: getattr(t, name) for name in _TRIP_FIELDS}, "rider_id": t.rider.rider_id,
                   "driver_id": t.driver.driver_id if t.driver is not None else None,
                   "queued": t.driver is not None and t.driver.next_trip is t} for t in sim.trips.values()],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc}") from exc
    return path


def load(path: Path, config: SimConfig, sink: Sink, *, surge: SurgeSource | None = None,
         listeners: list[Callable[[dict[str, Any]], None]] | None = None, osrm_url: str | None = None) -> Simulation:
    """A simulation rebuilt from a checkpoint, its processes started, ready to `run_until`."""
    try:
        data = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a simulation checkpoint ({FORMAT})")
    if data["config"].seed != config.seed:
        raise CheckpointError(f"{path} was written with seed {data['config'].seed}, this runtime uses {config.seed}")
    sim = Simulation(data["config"], sink, surge=surge, session_id=data["session_id"], resume_at_ms=data["now"], osrm_url=osrm_url)
    if listeners is not None:
        sim.events.trip_listeners = listeners
    sim.events.counter = data["event_counter"]
    sim.events.by_schema = data["by_schema"]
    sim.trip_flow.trip_counter = data["trip_counter"]
    sim.random.setstate(data["random"])
    sim.stats = data["stats"]
    sim.accepting_requests = data["accepting_requests"]
    sim.heatmap.recent = data["heatmap"]
    for item in data["drivers"]:
        history = item.pop("history")
        driver = Driver(**item)
        driver.history = deque(history, maxlen=driver.history.maxlen)
        sim.fleet.add(driver)
    for item in data["riders"]:
        history = item.pop("history")
        rider = Rider(**item)
        rider.history = deque(history, maxlen=rider.history.maxlen)
        sim.riders[rider.rider_id] = rider
    for item in data["trips"]:
        rider = sim.riders[item.pop("rider_id")]
        driver_id = item.pop("driver_id")
        queued = item.pop("queued")
        trip = Trip(rider=rider, driver=sim.drivers[driver_id] if driver_id else None, **item)
        rider.trip = trip
        if trip.driver is not None and queued:  # accepted while the driver carries another rider
            trip.driver.next_trip = trip
            trip.handover = sim.env.event()
        elif trip.driver is not None and trip.state.value not in ("offer_sent", "offer_expired", "offer_rejected"):
            trip.driver.trip = trip
            trip.driver.leg = trip.leg
        sim.trips[trip.trip_id] = trip
    _reattach(sim)
    return sim


def _reattach(sim: Simulation) -> None:
    """Index, GPS schedule and processes of the restored agents and trips."""
    for driver in sim.drivers.values():
        if driver.status in MATCHABLE and driver.trip is None and driver.leg is not None:  # driving about: stop there
            driver.lat, driver.lon, driver.heading = driver.leg.position(sim.now)
            driver.leg = None
            if driver.status == "repositioning":
                sim.fleet.set_status(driver, "available", "restored")
        if driver.status in MATCHABLE:
            sim.fleet.index.put(driver.driver_id, driver, driver.lat, driver.lon)
        if driver.status == "on_trip" and driver.trip is not None and driver.next_trip is None:
            sim.fleet.riding(driver, driver.trip.dropoff)
        if driver.status != "offline":
            sim.fleet.track(driver)
        driver.proc = sim.env.process(sim.shifts.work_shifts(driver))
    for rider in sim.riders.values():
        if rider.status == "waiting":
            sim.gps.set_rider(rider.rider_id, rider.ordinal, rider)
        rider.proc = sim.env.process(sim.rider_demand.request_rides(rider))
    for trip in sim.trips.values():
        trip.proc = sim.env.process(sim.trip_flow.serve_trip(trip))
    sim.start_world_processes()
