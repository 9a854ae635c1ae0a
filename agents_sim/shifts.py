"""Drivers' working days: shifts from their DNA, and what an online driver does between trips
(wait a while, or drive toward demand while staying matchable)."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import simpy

from agents_sim.agents.state import Driver
from agents_sim.demand import DAY_MS, HOUR_MS
from agents_sim.fleet import MATCHABLE, Fleet
from agents_sim.heatmap import DemandHeatmap
from agents_sim.movement import Leg
from agents_sim.params import DriverParams
from agents_sim.rng import derive_seed
from agents_sim.surge import SurgeSource
from agents_sim.world.city import City
from schemas.geo import haversine_m

__all__ = ["ShiftWork"]


class ShiftWork:
    """The `work_shifts` process of every driver. Trip flow takes a driver over by setting `driver.trip`
    (and interrupting an idle step); the driver waits on `driver.free` until the trip releases it."""

    def __init__(self, env: simpy.Environment, seed: int, params: DriverParams, city: City, fleet: Fleet,
                 heatmap: DemandHeatmap, surge: SurgeSource, rng: random.Random) -> None:
        self._env = env
        self._seed = seed
        self._params = params
        self._city = city
        self._fleet = fleet
        self._heatmap = heatmap
        self._surge = surge
        self._rng = rng

    @property
    def _now(self) -> int:
        return int(self._env.now)

    def next_shift(self, driver: Driver, now: int) -> tuple[int, int]:
        """(start, end) of the driver's next shift block that ends after `now` (start clipped to now).
        A split-shift driver works two blocks a day, around the AM and the PM peak."""
        dna = driver.dna
        params = self._params
        offset_ms = self._city.utc_offset_ms
        local_day = (now + offset_ms) // DAY_MS
        for day in range(local_day - 1, local_day + 15):
            if (day + 3) % 7 not in dna.work_days:
                continue
            jitter = derive_seed(self._seed, "shift", driver.ordinal, day)
            spread_h = params.flexible_shift_spread_h if dna.shift_preference == "flexible" else params.fixed_shift_spread_h
            shift_h = ((jitter % 1000) / 1000 - 0.5) * spread_h  # day-to-day variation
            hours = dna.hours_per_day * (params.shift_hours_factor_low + params.shift_hours_factor_width * ((jitter >> 10) % 1000) / 1000)
            if dna.split_shift_pm_hour is None:
                blocks = ((dna.shift_start_hour + shift_h, hours),)
            else:
                blocks = ((dna.shift_start_hour + shift_h, hours / 2), (dna.split_shift_pm_hour + shift_h, hours / 2))
            for start_h, block_h in blocks:
                start = day * DAY_MS + int(start_h * HOUR_MS) - offset_ms
                end = start + int(block_h * HOUR_MS)
                if end > now + int(params.min_shift_left_min * 60_000):
                    return max(start, now), end
        return now + DAY_MS, now + DAY_MS + HOUR_MS  # a driver with no work days never goes online

    def work_shifts(self, driver: Driver) -> Generator[simpy.Event, Any, None]:
        env = self._env
        fleet = self._fleet
        while True:
            if driver.status == "offline":
                start, end = self.next_shift(driver, self._now)
                if start > self._now:
                    yield env.timeout(start - self._now)
                driver.shift_end_ms = end
                driver.leg = None
                fleet.set_status(driver, "available", "shift_start")
            while True:
                if driver.trip is not None:
                    driver.free = env.event()
                    yield driver.free
                    continue
                if self._now >= driver.shift_end_ms:
                    break
                yield from self.wait_or_reposition(driver)
            if driver.leg is not None:  # a reposition cut short by the shift end: stop where the car is
                driver.lat, driver.lon, driver.heading = driver.leg.position(self._now)
                driver.leg = None
            fleet.set_status(driver, "offline", "shift_end")

    def wait_or_reposition(self, driver: Driver) -> Generator[simpy.Event, Any, None]:
        """One idle step: wait a while, or drive toward demand (still matchable). An offer accepted
        meanwhile interrupts the step."""
        params = self._params
        env = self._env
        left_ms = max(1000, driver.shift_end_ms - self._now)
        driver.idle_wait = True
        try:
            move = self._reposition_move(driver) if driver.status == "available" else None
            if move is not None:
                (lat, lon), speed_factor, returning = move
                route = self._city.router.route(driver.lat, driver.lon, lat, lon, depart_ms=self._now, speed_factor=speed_factor)
                driver.leg = Leg(route, self._now, "reposition")
                if returning:
                    self._fleet.set_status(driver, "repositioning", "reposition")
                else:
                    self._fleet.track(driver)  # cruising: still available, now pinging as a moving car
                yield env.timeout(min(driver.leg.end_ms - self._now, left_ms))
                if driver.trip is None and driver.status in MATCHABLE:
                    driver.lat, driver.lon, driver.heading = driver.leg.position(self._now)
                    driver.leg = None
                    if driver.status == "repositioning":
                        self._fleet.set_status(driver, "available", "reposition_done")
                    else:
                        self._fleet.park(driver)
            else:
                yield env.timeout(min(int(self._rng.uniform(*params.idle_dwell_min_range) * 60_000), left_ms))
        except simpy.Interrupt:
            pass  # an assignment: the trip flow has taken the driver over
        finally:
            driver.idle_wait = False

    def _reposition_move(self, driver: Driver) -> tuple[tuple[float, float], float, bool] | None:
        """Where an available driver drives now (target point, speed factor, whether it is returning to the
        area), or None to wait where it is.

        Outside the service area there is no request to wait for: the driver heads straight back to the
        nearest district of the area (deadheading at traffic speed, status `repositioning`). Inside, a driver
        who cruises toward demand stays `available`: to the app (and to surge, which counts the cars open
        for requests in a zone) it is an open car wherever it drives. After the first dwell of a
        shift, with probability `reposition_p` it considers moving: a district drawn by the app's demand
        heatmap (recent requests) and surge map over distance; drawing its own district means staying put, so
        drivers already where riders ask for cars wait there instead of cruising."""
        places = self._city.places
        zone_id = places.zone_near(driver.lat, driver.lon)
        if not places.in_area(zone_id):
            nearest = min(self._city.area_zones, key=lambda z: haversine_m(driver.lat, driver.lon, z.centroid_lat, z.centroid_lon))
            # the nearest of a few points of that district: drivers re-enter the area where they reach it
            entries = [places.point_in_zone(nearest, self._rng) for _ in range(self._params.return_entry_candidates)]
            entry = min(entries, key=lambda p: haversine_m(driver.lat, driver.lon, *p))
            return entry, self._params.return_speed_factor, True
        last = driver.history[-1] if driver.history else {}
        if last.get("reason") == "shift_start" or self._rng.random() >= self._params.reposition_p:
            return None
        gravity_m = self._params.reposition_gravity_km * 1000
        chase = self._params.surge_chase_exponent
        weights = {}
        for z in self._city.area_zones:
            d_m = haversine_m(driver.lat, driver.lon, z.centroid_lat, z.centroid_lon)
            weights[z.zone_id] = self._heatmap.heat(z.zone_id) * self._surge.multiplier(z.zone_id) ** chase / (1 + (d_m / gravity_m) ** 2)
        zone = places.nearby_weighted_zone(driver.lat, driver.lon, self._params.reposition_radius_km, self._rng, weights)
        if zone.zone_id == zone_id:
            return None
        return places.point_in_zone(zone, self._rng), self._params.reposition_speed_factor, False
