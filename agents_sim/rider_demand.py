"""Riders asking for rides: each rider's requests are a Poisson process thinned by the demand curve and,
away from home, by the zone's app share (the rest of the trips from there go by bus or metro)."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import simpy

from agents_sim.agents.state import Rider
from agents_sim.demand import HOUR_MS
from agents_sim.trip_flow import TripFlow
from agents_sim.world.city import City

__all__ = ["RiderDemand"]


class RiderDemand:
    def __init__(self, env: simpy.Environment, city: City, trip_flow: TripFlow, rng: random.Random) -> None:
        self._env = env
        self._city = city
        self._trip_flow = trip_flow
        # One stream shared by every rider: event order is deterministic, and one Random per rider costs ~20 µs to seed.
        self._rng = rng

    def request_rides(self, rider: Rider) -> Generator[simpy.Event, Any, None]:
        demand = self._city.demand
        app_share = self._city.app_share
        flow = self._trip_flow
        peak_rate_per_ms = rider.dna.rides_per_week / (168 * HOUR_MS) * demand.peak
        rng = self._rng
        while True:
            yield self._env.timeout(int(rng.expovariate(peak_rate_per_ms)) + 1)
            if rider.status != "idle" or not flow.accepting_requests:
                continue
            if rng.random() * demand.peak > demand.intensity(int(self._env.now)):
                continue
            if rider.zone_id != rider.dna.home_zone_id and rng.random() > app_share[rider.zone_id]:
                # away from home in a low-demand zone: this time the rider goes home by bus or metro
                rider.lat, rider.lon, rider.zone_id = rider.dna.home_lat, rider.dna.home_lon, rider.dna.home_zone_id
                continue
            flow.request_trip(rider, None)
