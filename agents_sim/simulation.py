"""One simulated São Paulo: SimPy environment, agents, their processes, and the events they emit.

Time is SimPy time in integer milliseconds since the epoch (simulated UTC). Agents' behaviour lives
in verb-named generator processes: `work_shifts` (drivers), `request_rides` (riders), `serve_trip`
(one per trip: matching, pickup, ride, payment and ratings), `ping_gps` (one ticker for every GPS
ping) and `update_profiles`. All randomness comes from streams derived from the seed, every
collection iterates in insertion order, so a seed and a config give one event sequence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator
from datetime import datetime
from typing import Any

import simpy

from agents_sim import identity_changes
from agents_sim.agents.dna import make_driver_dna, make_rider_dna, trip_km
from agents_sim.agents.state import Driver, Rider, Trip
from agents_sim.demand import DAY_MS, HOUR_MS, DemandCurve
from agents_sim.events import EventFactory
from agents_sim.matching import Candidate, rank_candidates
from agents_sim.movement import GpsSchedule, Leg
from agents_sim.params import SAO_PAULO, SimConfig
from agents_sim.pricing import fare_brl, split_payment
from agents_sim.rng import derive_seed, stream
from agents_sim.sinks import Sink
from agents_sim.stats import SimStats
from agents_sim.surge import StaticSurge, SurgeSource
from agents_sim.trip_flow import request_trip
from agents_sim.trips import TERMINAL, TripState
from agents_sim.world.driver_index import DriverIndex
from agents_sim.world.router import GridRouter, OsrmRouter, Router, TrafficModel
from agents_sim.world.sampling import PlaceSampler
from agents_sim.world.service_area import select_service_area
from schemas.geo import encode_polyline, haversine_m
from schemas.zones import ZoneIndex, zone_index

__all__ = ["Simulation"]

log = logging.getLogger(__name__)
S = TripState
MATCHABLE = ("available", "repositioning")
_SEARCH_STATES = (S.REQUESTED, S.OFFER_EXPIRED, S.OFFER_REJECTED, S.OFFER_SENT)
_DEG_LAT_M = 111_195.0
_LAT_PER_M = 1 / _DEG_LAT_M


class Simulation:
    """A world ready to run: `populate()` once, then `run_until(t_ms)` as often as wanted."""

    def __init__(self, config: SimConfig, sink: Sink, *, surge: SurgeSource | None = None, router: Router | None = None,
                 session_id: str | None = None, zones: ZoneIndex | None = None, resume_at_ms: int | None = None,
                 osrm_url: str | None = None) -> None:
        self.config = config
        self.sink = sink
        self.surge: SurgeSource = surge or StaticSurge()
        start_ms = config.start_ms
        self.utc_offset_ms = int(datetime.fromtimestamp(start_ms / 1000, SAO_PAULO).utcoffset().total_seconds() * 1000)  # type: ignore[union-attr]  # aware datetime
        self.env = simpy.Environment(initial_time=resume_at_ms if resume_at_ms is not None else start_ms)
        self.zones = zones or zone_index()
        # Density-preserving scaling: a small fleet serves a proportionally small area (fixed at creation:
        # drivers spawned later join the same area).
        self.service_area = select_service_area(self.zones, config.service_area, config.drivers)
        self.places = PlaceSampler(self.zones, self.service_area.zone_ids, config.service_area.outside_destination_weight)
        self._area_zones = tuple(z for z in self.zones.zones if z.zone_id in self.service_area)
        self.traffic = TrafficModel(config.traffic, self.utc_offset_ms)
        self.router: Router = router or (OsrmRouter(osrm_url, self.traffic) if osrm_url else GridRouter(self.traffic))
        self.demand = DemandCurve(config.demand, self.utc_offset_ms)
        self.events = EventFactory(session_id or config.resolved_session_id, sink)
        self.rng = stream(config.seed, "behaviour")
        self.gps_rng = stream(config.seed, "gps")
        self.clock_rng = stream(config.seed, "rider-clock")
        self.index: DriverIndex[Driver] = DriverIndex(config.matching.h3_resolution)
        gps = config.gps
        self.gps = GpsSchedule(gps.moving_interval_s, gps.idle_interval_s, gps.rider_interval_s)
        self.drivers: dict[str, Driver] = {}
        self.riders: dict[str, Rider] = {}
        self.trips: dict[str, Trip] = {}  # active (non-terminal) trips
        self.stats = SimStats()
        self.accepting_requests = True
        self.heatmap: dict[str, float] = {}
        # Share of trips from a zone made by app (the rest by transit): requests are weighted by zone demand,
        # so riders dropped off in the outskirts mostly return by other means. Outside the service area the
        # world's app does not operate: riders dropped there go home by other means.
        n_zones = len(self.zones.zones)
        self._app_share = {z.zone_id: min(1.0, (z.demand_weight * n_zones) ** 0.5) if z.zone_id in self.service_area else 0.0
                           for z in self.zones.zones}
        self._heat_prior = {z.zone_id: 3.0 * z.demand_weight for z in self.zones.zones}
        self._heat_prior_total = 3.0
        self.trip_counter = 0
        self._core_bbox = self._dense_core_bbox()
        self._lon_per_m = 1 / (_DEG_LAT_M * math.cos(math.radians(-23.55)))
        noise_rng = stream(config.seed, "gps-noise-table")
        sigma = config.gps.noise_sigma_m
        self._noise_m = tuple(noise_rng.gauss(0.0, sigma) for _ in range(4096))
        self._accuracy_m = tuple(round(sigma * (0.7 + 0.6 * i / 63), 1) for i in range(64))  # reported 1-sigma
        self._outlier_p = config.gps.core_outlier_p

    # ----------------------------------------------------------------- set-up

    @property
    def now(self) -> int:
        return int(self.env.now)

    @property
    def session_id(self) -> str:
        return self.events.session_id

    def populate(self) -> None:
        """Create the configured population, emit their profiles and start every process."""
        self.spawn_drivers(self.config.drivers)
        self.spawn_riders(self.config.riders)
        self.start_world_processes()

    def start_world_processes(self) -> None:
        self.env.process(self.ping_gps())
        self.env.process(self.update_profiles())

    def spawn_drivers(self, n: int) -> list[str]:
        made = []
        for _ in range(n):
            ordinal = len(self.drivers)
            dna = make_driver_dna(self.config.seed, ordinal, self.config.driver, self.places, self.config.demand.hourly_share)
            driver = Driver(dna=dna, ordinal=ordinal, lat=dna.home_lat, lon=dna.home_lon, profile=identity_changes.driver_profile(dna))
            self.drivers[dna.driver_id] = driver
            identity_changes.emit_driver_profile(self, driver, "created", [])
            driver.proc = self.env.process(self.work_shifts(driver))
            made.append(dna.driver_id)
        return made

    def spawn_riders(self, n: int) -> list[str]:
        made = []
        for _ in range(n):
            ordinal = len(self.riders)
            dna = make_rider_dna(self.config.seed, ordinal, self.config.rider, self.places)
            rider = Rider(dna=dna, ordinal=ordinal, lat=dna.home_lat, lon=dna.home_lon, zone_id=dna.home_zone_id,
                          profile=identity_changes.rider_profile(dna))
            self.riders[dna.rider_id] = rider
            identity_changes.emit_rider_profile(self, rider, "created", [])
            rider.proc = self.env.process(self.request_rides(rider))
            made.append(dna.rider_id)
        return made

    def run_until(self, t_ms: int) -> None:
        if t_ms > self.env.now:
            self.env.run(until=t_ms)

    def _dense_core_bbox(self) -> tuple[float, float, float, float]:
        core = [z for z in self.zones.zones if z.dense_core] or list(self.zones.zones)
        return (min(z.bbox[0] for z in core), min(z.bbox[1] for z in core), max(z.bbox[2] for z in core), max(z.bbox[3] for z in core))

    # ----------------------------------------------------------------- events

    def emit_trip(self, trip: Trip, event_type: str, *, fare: float | None = None, route: Leg | None = None,
                  cancelled_by: str | None = None, cancel_reason: str | None = None, actual_s: float | None = None) -> None:
        record = self.events.header(self.now, trip.trip_id, trip.last_event_id)
        trip.last_event_id = record["event_id"]
        p_lat, p_lon, p_zone = trip.pickup
        d_lat, d_lon, d_zone = trip.dropoff
        offer = event_type.startswith("offer") or event_type == "driver_assigned"
        record.update({
            "event_type": event_type, "trip_id": trip.trip_id, "rider_id": trip.rider.rider_id,
            "driver_id": trip.driver.driver_id if trip.driver is not None else None,
            "pickup_zone_id": p_zone, "dropoff_zone_id": d_zone,
            "pickup_lat": round(p_lat, 6), "pickup_lon": round(p_lon, 6), "dropoff_lat": round(d_lat, 6), "dropoff_lon": round(d_lon, 6),
            "surge_multiplier": trip.surge_multiplier, "fare_estimate_brl": trip.fare_estimate_brl, "fare_brl": fare,
            "route_distance_km": round(route.route.distance_m / 1000, 3) if route is not None else None,
            "route_duration_s": round(actual_s if actual_s is not None else route.route.duration_s, 1) if route is not None else None,
            "route_polyline": encode_polyline(route.route.points) if route is not None and fare is None else None,
            "offer_sequence": trip.offer_sequence if offer else None,
            "eta_seconds": round(trip.eta_s, 1) if trip.eta_s is not None and event_type in ("offer_sent", "driver_assigned") else None,
            "cancelled_by": cancelled_by, "cancel_reason": cancel_reason,
        })
        self.events.emit("trip_event", record)
        self.stats.on_trip_event(event_type, p_zone, cancelled_by, cancel_reason)
        if self.events.trip_listeners:
            change = {"trip_id": trip.trip_id, "event_type": event_type, "state": trip.state.value, "event_time": record["event_time"],
                      "rider_id": record["rider_id"], "driver_id": record["driver_id"], "pickup_zone_id": p_zone,
                      "dropoff_zone_id": d_zone, "fare_brl": fare, "cancelled_by": cancelled_by, "cancel_reason": cancel_reason}
            for listener in self.events.trip_listeners:
                listener(change)

    def set_status(self, driver: Driver, status: str, reason: str, trip: Trip | None = None) -> None:
        """Change a driver's status, emit driver_status and keep the H3 index and GPS schedule in step."""
        previous = driver.status
        driver.status = status
        record = self.events.header(self.now, driver.driver_id, trip.last_event_id if trip is not None else None)
        record.update({
            "driver_id": driver.driver_id, "previous_status": previous, "new_status": status, "reason": reason,
            "zone_id": self.zones.nearest_zone(driver.lat, driver.lon),
            "driver_lat": round(driver.lat, 6), "driver_lon": round(driver.lon, 6),
            "trip_id": trip.trip_id if trip is not None else None,
        })
        self.events.emit("driver_status", record)
        driver.history.append({"t": self.now, "status": status, "reason": reason})
        if status == "offline":
            self.index.remove(driver.driver_id)
            self.gps.remove(driver.driver_id)
            return
        if status in MATCHABLE:
            self.index.put(driver.driver_id, driver, driver.lat, driver.lon)
        else:
            self.index.remove(driver.driver_id)
        if driver.leg is not None:
            self.gps.set_moving(driver.driver_id, driver.ordinal, driver)
        else:
            self.gps.set_parked(driver.driver_id, driver.ordinal, driver)

    # ----------------------------------------------------------------- GPS

    def ping_gps(self) -> Generator[simpy.Event, Any, None]:
        """Once per simulated second: ping every entity due, refresh matchable drivers' H3 cells and
        pull surge updates every 5 s."""
        env = self.env
        while True:
            now = self.now
            second = now // 1000
            moving, parked, riders = self.gps.due(second)
            for driver in moving:
                self._ping_driver(driver, now, moving=True)
            for driver in parked:
                self._ping_driver(driver, now, moving=False)
            for rider in riders:
                self._ping(now, "rider", rider.rider_id, rider.lat, rider.lon, 0.0, 0.0, rider.trip.trip_id if rider.trip else None, None)
            pinged = len(moving) + len(parked) + len(riders)
            if pinged:
                by_schema = self.events.by_schema
                by_schema["gps_ping"] = by_schema.get("gps_ping", 0) + pinged
            if second % 5 == 0:
                self.surge.poll()
            if second % 300 == 0:
                self._decay_heatmap()
            yield env.timeout(1000 - now % 1000)

    def _ping_driver(self, driver: Driver, now: int, *, moving: bool) -> None:
        leg = driver.leg
        if moving and leg is not None:
            lat, lon, heading = leg.position(now)
            driver.lat, driver.lon, driver.heading = lat, lon, heading
            speed = round(leg.speed_kmh * (0.85 + 0.3 * self.gps_rng.random()), 1)
            if driver.status == "repositioning":
                self.index.put(driver.driver_id, driver, lat, lon)
        else:
            lat, lon, heading, speed = driver.lat, driver.lon, driver.heading, 0.0
        trip = driver.trip
        self._ping(now, "driver", driver.driver_id, lat, lon, heading, speed, trip.trip_id if trip is not None else None, driver.status)

    def _ping(self, now: int, kind: str, entity_id: str, lat: float, lon: float, heading: float, speed: float,
              trip_id: str | None, status: str | None) -> None:
        """One gps_ping with phone-like noise. The hot path of the simulation: noise and accuracy come
        from tables drawn once from the seed (indexed by cheap random bits), not from gauss() per ping."""
        rng = self.gps_rng
        bits = rng.getrandbits(30)
        noise = self._noise_m
        north = noise[bits & 4095]
        east = noise[(bits >> 12) & 4095]
        b = self._core_bbox
        if b[0] <= lon <= b[2] and b[1] <= lat <= b[3] and rng.random() < self._outlier_p:
            # urban canyon: a multipath fix tens of metres off
            dist = rng.uniform(*self.config.gps.outlier_m_range)
            angle = rng.random() * 6.283185307179586
            north += dist * math.cos(angle)
            east += dist * math.sin(angle)
        events = self.events
        events.counter += 1
        events.sink.emit("gps_ping", {
            "event_id": f"{events.session_id}-{events.counter:x}", "event_time": now, "session_id": events.session_id,
            "correlation_id": entity_id, "causation_id": None, "entity_type": kind, "entity_id": entity_id,
            "lat": round(lat + north * _LAT_PER_M, 6), "lon": round(lon + east * self._lon_per_m, 6),
            "heading_deg": heading, "speed_kmh": speed, "accuracy_m": self._accuracy_m[bits >> 24],
            "trip_id": trip_id, "driver_status": status,
        })

    # ----------------------------------------------------------------- drivers

    def next_shift(self, driver: Driver, now: int) -> tuple[int, int]:
        """(start, end) of the driver's next shift block that ends after `now` (start clipped to now).
        A split-shift driver works two blocks a day, around the AM and the PM peak."""
        dna = driver.dna
        local_day = (now + self.utc_offset_ms) // DAY_MS
        for day in range(local_day - 1, local_day + 15):
            if (day + 3) % 7 not in dna.work_days:
                continue
            jitter = derive_seed(self.config.seed, "shift", driver.ordinal, day)
            spread_h = 3.0 if dna.shift_preference == "flexible" else 1.0
            shift_h = ((jitter % 1000) / 1000 - 0.5) * spread_h  # day-to-day variation
            hours = dna.hours_per_day * (0.85 + 0.3 * ((jitter >> 10) % 1000) / 1000)
            if dna.split_shift_pm_hour is None:
                blocks = ((dna.shift_start_hour + shift_h, hours),)
            else:
                blocks = ((dna.shift_start_hour + shift_h, hours / 2), (dna.split_shift_pm_hour + shift_h, hours / 2))
            for start_h, block_h in blocks:
                start = day * DAY_MS + int(start_h * HOUR_MS) - self.utc_offset_ms
                end = start + int(block_h * HOUR_MS)
                if end > now + 10 * 60_000:
                    return max(start, now), end
        return now + DAY_MS, now + DAY_MS + HOUR_MS  # a driver with no work days never goes online

    def work_shifts(self, driver: Driver) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            if driver.status == "offline":
                start, end = self.next_shift(driver, self.now)
                if start > self.now:
                    yield env.timeout(start - self.now)
                driver.shift_end_ms = end
                driver.leg = None
                self.set_status(driver, "available", "shift_start")
            while True:
                if driver.trip is not None:
                    driver.free = env.event()
                    yield driver.free
                    continue
                if self.now >= driver.shift_end_ms:
                    break
                yield from self.wait_or_reposition(driver)
            if driver.leg is not None:  # a reposition cut short by the shift end: stop where the car is
                driver.lat, driver.lon, driver.heading = driver.leg.position(self.now)
                driver.leg = None
            self.set_status(driver, "offline", "shift_end")

    def wait_or_reposition(self, driver: Driver) -> Generator[simpy.Event, Any, None]:
        """One idle step: wait a while, or drive toward demand (still matchable). An offer accepted
        meanwhile interrupts the step."""
        params = self.config.driver
        rng = self.rng
        left_ms = max(1000, driver.shift_end_ms - self.now)
        driver.idle_wait = True
        try:
            if driver.status == "available" and self._wants_to_reposition(driver):
                lat, lon = self._reposition_target(driver)
                route = self.router.route(driver.lat, driver.lon, lat, lon, depart_ms=self.now, speed_factor=0.8)
                driver.leg = Leg(route, self.now, "reposition")
                self.set_status(driver, "repositioning", "reposition")
                yield self.env.timeout(min(driver.leg.end_ms - self.now, left_ms))
                if driver.trip is None and driver.status == "repositioning":
                    driver.lat, driver.lon, driver.heading = driver.leg.position(self.now)
                    driver.leg = None
                    self.set_status(driver, "available", "reposition_done")
            else:
                yield self.env.timeout(min(int(rng.uniform(*params.idle_dwell_min_range) * 60_000), left_ms))
        except simpy.Interrupt:
            pass  # an assignment: serve_trip has taken the driver over
        finally:
            driver.idle_wait = False

    def note_request(self, zone_id: str) -> None:
        """Feed the demand heatmap drivers see in the app (recent requests per zone)."""
        self.heatmap[zone_id] = self.heatmap.get(zone_id, 0.0) + 1.0

    def _decay_heatmap(self) -> None:
        """Every 5 simulated minutes: recent requests fade (half-life ~20 min)."""
        for zone_id in list(self.heatmap):
            self.heatmap[zone_id] *= 0.84

    def _heat(self, zone_id: str) -> float:
        # a prior from the static demand weight, so a zone with no recent request is not a desert
        return self.heatmap.get(zone_id, 0.0) + self._heat_prior[zone_id]

    def _wants_to_reposition(self, driver: Driver) -> bool:
        """Drivers outside the service area head back at once; inside they wait a first dwell, then
        reposition with probability `reposition_p`."""
        if not self.places.in_area(self.places.zone_near(driver.lat, driver.lon)):
            return True
        last = driver.history[-1] if driver.history else {}
        return last.get("reason") != "shift_start" and self.rng.random() < self.config.driver.reposition_p

    def _reposition_target(self, driver: Driver) -> tuple[float, float]:
        """A zone within 8 km drawn by the app's demand heatmap (recent requests) and distance: idle
        drivers head to where riders are asking for cars now."""
        # gravity: recent demand over (1 + (d / 3 km)^2), so drivers in the periphery serve their side of
        # town instead of all converging on the centre
        weights = {}
        for z in self._area_zones:
            d_m = haversine_m(driver.lat, driver.lon, z.centroid_lat, z.centroid_lon)
            weights[z.zone_id] = self._heat(z.zone_id) / (1 + (d_m / 3000) ** 2)
        zone = self.places.nearby_weighted_zone(driver.lat, driver.lon, 8.0, self.rng, weights)
        return self.places.point_in_zone(zone, self.rng)

    # ----------------------------------------------------------------- riders

    def request_rides(self, rider: Rider) -> Generator[simpy.Event, Any, None]:
        """A rider's requests: a Poisson process thinned by the demand curve and, away from home, by the
        zone's demand (the app's share of trips from there)."""
        peak_rate_per_ms = rider.dna.rides_per_week / (168 * HOUR_MS) * self.demand.peak
        rng = self.clock_rng  # shared: event order is deterministic, and one Random per rider costs ~20 µs to seed
        while True:
            yield self.env.timeout(int(rng.expovariate(peak_rate_per_ms)) + 1)
            if rider.status != "idle" or not self.accepting_requests:
                continue
            if rng.random() * self.demand.peak > self.demand.intensity(self.now):
                continue
            if rider.zone_id != rider.dna.home_zone_id and rng.random() > self._app_share[rider.zone_id]:
                # away from home in a low-demand zone: this time the rider goes home by bus or metro
                rider.lat, rider.lon, rider.zone_id = rider.dna.home_lat, rider.dna.home_lon, rider.dna.home_zone_id
                continue
            request_trip(self, rider, None)

    def retry_later(self, rider: Rider, dropoff: tuple[float, float, str], delay_ms: int) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(delay_ms)
        if rider.status == "idle" and self.accepting_requests:
            request_trip(self, rider, dropoff)

    # ----------------------------------------------------------------- profiles

    def update_profiles(self) -> Generator[simpy.Event, Any, None]:
        """Hourly: a few agents change contact data, vehicle or payment method (real, lasting changes)."""
        rng = stream(self.config.seed, "profiles")
        while True:
            yield self.env.timeout(HOUR_MS)
            identity_changes.apply_random_changes(self, rng)

    def control_event(self, action: str, *, speed: float | None = None, detail: str | None = None) -> None:
        record = self.events.header(self.now, self.session_id, None)
        record.update({"action": action, "speed": speed, "drivers": len(self.drivers), "riders": len(self.riders),
                       "seed": self.config.seed, "detail": detail})
        self.events.emit("simulation_control", record)

    def active_trip_states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trip in self.trips.values():
            if trip.state not in TERMINAL:
                counts[trip.state.value] = counts.get(trip.state.value, 0) + 1
        return counts

    def candidates(self, trip: Trip) -> list[tuple[Driver, Candidate]]:
        """Matchable drivers near the pickup, ranked (best first)."""
        params = self.config.matching
        p_lat, p_lon, _ = trip.pickup
        speed_mps = self.traffic.speed_kmh(self.now) / 3.6
        detour = 1.27 * self.config.traffic.detour_factor
        found: list[tuple[Driver, Candidate]] = []
        for _, driver in self.index.ring_search(p_lat, p_lon, max_k=params.max_ring_k, want=params.max_candidates * 2):
            if driver.offered is not None or driver.trip is not None or driver.status not in MATCHABLE:
                continue
            lat, lon = (driver.leg.position(self.now)[:2]) if driver.leg is not None else (driver.lat, driver.lon)
            eta = haversine_m(lat, lon, p_lat, p_lon) * detour / speed_mps + 30.0
            if eta > params.max_pickup_eta_s:
                continue
            found.append((driver, Candidate(driver.driver_id, eta, driver.rating, driver.dna.acceptance_rate)))
        by_id = {c.driver_id: d for d, c in found}
        return [(by_id[c.driver_id], c) for c in rank_candidates(params, [c for _, c in found])]

    def trip_id(self) -> str:
        self.trip_counter += 1
        return f"{self.session_id}-T{self.trip_counter:07d}"

    def fare_estimate(self, distance_m: float, duration_s: float, surge: float) -> float:
        return fare_brl(self.config.pricing, distance_m / 1000, duration_s / 60, surge)

    def take_rate(self) -> float:
        return self.rng.uniform(*self.config.pricing.take_rate_range)

    def new_trip_km(self) -> float:
        return trip_km(self.rng, self.config.rider)

    split_payment = staticmethod(split_payment)
