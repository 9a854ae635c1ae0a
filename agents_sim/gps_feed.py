"""The GPS feed: one ping per entity due at a whole simulated second, with phone-like noise.

The hot path of the simulation (pings are ~97 % of all events): noise and accuracy come from tables
drawn once from the seed and indexed by cheap random bits, not from gauss() per ping.
"""

from __future__ import annotations

import math
import random

from agents_sim.agents.state import Driver
from agents_sim.events import EventFactory
from agents_sim.fleet import MATCHABLE
from agents_sim.movement import GpsSchedule
from agents_sim.params import GpsParams
from agents_sim.world.driver_index import DriverIndex

__all__ = ["GpsFeed"]

_DEG_LAT_M = 111_195.0
_LAT_PER_M = 1 / _DEG_LAT_M
_SAO_PAULO_LAT = -23.55  # where metres per degree of longitude are taken
_NOISE_TABLE = 4096  # 12 random bits index it (two draws per ping from one 30-bit number)
_ACCURACY_TABLE = 64  # 6 bits
_TWO_PI = 6.283185307179586


class GpsFeed:
    def __init__(self, events: EventFactory, schedule: GpsSchedule, index: DriverIndex[Driver], params: GpsParams,
                 rng: random.Random, noise_rng: random.Random, core_bbox: tuple[float, float, float, float]) -> None:
        self._events = events
        self._schedule = schedule
        self._index = index
        self._params = params
        self._rng = rng
        self._core_bbox = core_bbox
        self._lon_per_m = 1 / (_DEG_LAT_M * math.cos(math.radians(_SAO_PAULO_LAT)))
        sigma = params.noise_sigma_m
        self._noise_m = tuple(noise_rng.gauss(0.0, sigma) for _ in range(_NOISE_TABLE))
        self._accuracy_m = tuple(round(sigma * (params.accuracy_low + params.accuracy_width * i / (_ACCURACY_TABLE - 1)), 1)
                                 for i in range(_ACCURACY_TABLE))  # reported 1-sigma
        self._outlier_p = params.core_outlier_p

    def ping_due(self, now: int) -> None:
        """Ping every entity due at this whole second; idle drivers driving about keep their H3 cell current."""
        moving, parked, riders = self._schedule.due(now // 1000)
        for driver in moving:
            self._ping_driver(driver, now, moving=True)
        for driver in parked:
            self._ping_driver(driver, now, moving=False)
        for rider in riders:
            self._ping(now, "rider", rider.rider_id, rider.lat, rider.lon, 0.0, 0.0, rider.trip.trip_id if rider.trip else None, None)
        pinged = len(moving) + len(parked) + len(riders)
        if pinged:
            by_schema = self._events.by_schema
            by_schema["gps_ping"] = by_schema.get("gps_ping", 0) + pinged

    def _ping_driver(self, driver: Driver, now: int, *, moving: bool) -> None:
        leg = driver.leg
        if moving and leg is not None:
            lat, lon, heading = leg.position(now)
            driver.lat, driver.lon, driver.heading = lat, lon, heading
            params = self._params
            speed = round(leg.speed_kmh * (params.speed_jitter_low + params.speed_jitter_width * self._rng.random()), 1)
            if driver.status in MATCHABLE:  # an idle car driving about: matchable where it is
                self._index.put(driver.driver_id, driver, lat, lon)
        else:
            lat, lon, heading, speed = driver.lat, driver.lon, driver.heading, 0.0
        trip = driver.trip
        self._ping(now, "driver", driver.driver_id, lat, lon, heading, speed, trip.trip_id if trip is not None else None, driver.status)

    def _ping(self, now: int, kind: str, entity_id: str, lat: float, lon: float, heading: float, speed: float,
              trip_id: str | None, status: str | None) -> None:
        rng = self._rng
        bits = rng.getrandbits(30)
        noise = self._noise_m
        north = noise[bits & 4095]
        east = noise[(bits >> 12) & 4095]
        b = self._core_bbox
        if b[0] <= lon <= b[2] and b[1] <= lat <= b[3] and rng.random() < self._outlier_p:
            # urban canyon: a multipath fix tens of metres off
            dist = rng.uniform(*self._params.outlier_m_range)
            angle = rng.random() * _TWO_PI
            north += dist * math.cos(angle)
            east += dist * math.sin(angle)
        events = self._events
        events.counter += 1
        events.sink.emit("gps_ping", {
            "event_id": f"{events.session_id}-{events.counter:x}", "event_time": now, "session_id": events.session_id,
            "correlation_id": entity_id, "causation_id": None, "entity_type": kind, "entity_id": entity_id,
            "lat": round(lat + north * _LAT_PER_M, 6), "lon": round(lon + east * self._lon_per_m, 6),
            "heading_deg": heading, "speed_kmh": speed, "accuracy_m": self._accuracy_m[bits >> 24],
            "trip_id": trip_id, "driver_status": status,
        })
