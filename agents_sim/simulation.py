"""One simulated São Paulo: the SimPy environment and the collaborators that make up the world.

Time is SimPy time in integer milliseconds since the epoch (simulated UTC). `Simulation` only builds
and wires the parts and owns the populations; behaviour lives in verb-named generator processes of
its collaborators: `ShiftWork.work_shifts` (drivers), `RiderDemand.request_rides` (riders),
`TripFlow.serve_trip` (one per trip), the once-a-second `tick` (GPS pings) and `update_profiles`.
All randomness comes from streams derived from the seed, every collection iterates in insertion
order, so a seed and a config give one event sequence.

    city (zones, area, streets, demand)      events (ids, sink)      surge (multipliers in)
        │                                        │
        ├── fleet (drivers, H3 index, status) ── dispatch (candidates)
        ├── shifts (drivers' days) ── heatmap
        ├── trip flow (requests → payment) ── settlement, profiles
        ├── rider demand (requests) ── trip flow
        └── GPS feed (pings)
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from agents_sim.agents.dna import make_driver_dna, make_rider_dna
from agents_sim.agents.shift_plan import plan_shifts
from agents_sim.agents.state import Driver, Rider, Trip
from agents_sim.demand import HOUR_MS
from agents_sim.dispatch import Dispatch
from agents_sim.events import EventFactory
from agents_sim.fleet import Fleet
from agents_sim.gps_feed import GpsFeed
from agents_sim.heatmap import DemandHeatmap
from agents_sim.identity_changes import Profiles, driver_profile, rider_profile
from agents_sim.movement import GpsSchedule
from agents_sim.params import SimConfig
from agents_sim.rider_demand import RiderDemand
from agents_sim.rng import RandomStreams
from agents_sim.settlement import Settlement
from agents_sim.shifts import ShiftWork
from agents_sim.sinks import Sink
from agents_sim.stats import SimStats
from agents_sim.surge import StaticSurge, SurgeSource
from agents_sim.trip_flow import TripFlow
from agents_sim.world.city import build_city
from agents_sim.world.router import Router
from schemas.zones import ZoneIndex

__all__ = ["Simulation"]


class Simulation:
    """A world ready to run: `populate()` once, then `run_until(t_ms)` as often as wanted."""

    def __init__(self, config: SimConfig, sink: Sink, *, surge: SurgeSource | None = None, router: Router | None = None,
                 session_id: str | None = None, zones: ZoneIndex | None = None, resume_at_ms: int | None = None,
                 osrm_url: str | None = None) -> None:
        self.config = config
        self.sink = sink
        self.surge: SurgeSource = surge or StaticSurge()
        self.env = simpy.Environment(initial_time=resume_at_ms if resume_at_ms is not None else config.start_ms)
        self.city = build_city(config, zones=zones, router=router, osrm_url=osrm_url)
        self.events = EventFactory(session_id or config.resolved_session_id, sink)
        self.stats = SimStats()
        self.riders: dict[str, Rider] = {}
        gps = config.gps
        self.gps = GpsSchedule(gps.moving_interval_s, gps.idle_interval_s, gps.rider_interval_s)
        self.random = RandomStreams(config.seed)
        self.shift_plan = plan_shifts(config.driver, config.demand, config.traffic)
        self.fleet = Fleet(self.env, self.events, self.city.zones, self.gps, config.matching.h3_resolution)
        self.heatmap = DemandHeatmap(self.city.zones, config.driver)
        self.profiles = Profiles(self.env, self.events, config.profiles)
        self.shifts = ShiftWork(self.env, config.seed, config.driver, self.city, self.fleet, self.heatmap, self.surge,
                                self.random["repositioning"])
        self.trip_flow = TripFlow(
            self.env, config, self.city, self.events, self.fleet,
            Dispatch(self.fleet, self.city.traffic, config.matching, config.traffic), self.gps, self.stats, self.surge,
            self.heatmap, self.profiles, Settlement(self.events, config.pricing, config.rating, self.random["settlement"]), self.random)
        self.rider_demand = RiderDemand(self.env, self.city, self.trip_flow, self.random["rider-clock"])
        self.gps_feed = GpsFeed(self.events, self.gps, self.fleet.index, gps, self.random["gps"], self.random["gps-noise-table"],
                                self.city.core_bbox)

    # ----------------------------------------------------------------- what the runtime and views read

    @property
    def now(self) -> int:
        return int(self.env.now)

    @property
    def session_id(self) -> str:
        return self.events.session_id

    @property
    def zones(self) -> ZoneIndex:
        return self.city.zones

    @property
    def drivers(self) -> dict[str, Driver]:
        return self.fleet.drivers

    @property
    def trips(self) -> dict[str, Trip]:
        """Active (non-terminal) trips."""
        return self.trip_flow.trips

    @property
    def accepting_requests(self) -> bool:
        return self.trip_flow.accepting_requests

    @accepting_requests.setter
    def accepting_requests(self, value: bool) -> None:
        self.trip_flow.accepting_requests = value

    def active_trip_states(self) -> dict[str, int]:
        return self.trip_flow.active_states()

    # ----------------------------------------------------------------- set-up

    def populate(self) -> None:
        """Create the configured population, emit their profiles and start every process."""
        self.surge.begin(self.session_id, self.now)  # before the session's first event
        self.spawn_drivers(self.config.drivers)
        self.spawn_riders(self.config.riders)
        self.start_world_processes()

    def start_world_processes(self) -> None:
        self.env.process(self.tick())
        self.env.process(self.update_profiles())

    def spawn_drivers(self, n: int) -> list[str]:
        made = []
        config = self.config
        for _ in range(n):
            ordinal = len(self.fleet.drivers)
            dna = make_driver_dna(config.seed, ordinal, config.driver, self.city.places, self.shift_plan)
            driver = Driver(dna=dna, ordinal=ordinal, lat=dna.home_lat, lon=dna.home_lon, profile=driver_profile(dna))
            self.fleet.add(driver)
            self.profiles.emit_driver(driver, "created", [])
            driver.proc = self.env.process(self.shifts.work_shifts(driver))
            made.append(dna.driver_id)
        return made

    def spawn_riders(self, n: int) -> list[str]:
        made = []
        config = self.config
        for _ in range(n):
            ordinal = len(self.riders)
            dna = make_rider_dna(config.seed, ordinal, config.rider, self.city.places)
            rider = Rider(dna=dna, ordinal=ordinal, lat=dna.home_lat, lon=dna.home_lon, zone_id=dna.home_zone_id,
                          profile=rider_profile(dna))
            self.riders[dna.rider_id] = rider
            self.profiles.emit_rider(rider, "created", [])
            rider.proc = self.env.process(self.rider_demand.request_rides(rider))
            made.append(dna.rider_id)
        return made

    def run_until(self, t_ms: int) -> None:
        if t_ms > self.env.now:
            self.env.run(until=t_ms)

    # ----------------------------------------------------------------- world processes

    def tick(self) -> Generator[simpy.Event, Any, None]:
        """Once per simulated second: ping every entity due; every few seconds apply surge updates received
        (live surge; a no-op otherwise); every few minutes the demand heatmap fades."""
        env = self.env
        poll_s = self.config.pricing.live_surge_poll_s
        decay_s = self.config.driver.heat_decay_s
        while True:
            now = self.now
            second = now // 1000
            self.gps_feed.ping_due(now)
            if second % poll_s == 0:
                self.surge.poll()
            if second % decay_s == 0:
                self.heatmap.decay()
            yield env.timeout(1000 - now % 1000)

    def update_profiles(self) -> Generator[simpy.Event, Any, None]:
        """Hourly: a few agents change contact data, vehicle or payment method (real, lasting changes)."""
        while True:
            yield self.env.timeout(HOUR_MS)
            self.profiles.apply_random_changes(list(self.fleet.drivers.values()), list(self.riders.values()),
                                               self.random["profiles"])

    def control_event(self, action: str, *, speed: float | None = None, detail: str | None = None) -> None:
        """A simulation_control event. A run's `started` event names its surge mode (`surge=lockstep
        step_ms=60000`), so the KPI report can say which mode produced the events."""
        if action == "started" and detail is None:
            step = self.surge.step_ms
            detail = f"surge={self.surge.mode}" + (f" step_ms={step}" if step else "")
        record = self.events.header(self.now, self.session_id, None)
        record.update({"action": action, "speed": speed, "drivers": len(self.fleet.drivers), "riders": len(self.riders),
                       "seed": self.config.seed, "detail": detail})
        self.events.emit("simulation_control", record)
