"""Dispatch: the drivers near a pickup who can take an offer, with an estimated pickup time, ranked best first."""

from __future__ import annotations

from agents_sim.agents.state import Driver, Trip
from agents_sim.fleet import Fleet
from agents_sim.matching import Candidate, rank_candidates
from agents_sim.params import MatchingParams, TrafficParams
from agents_sim.world.router import TrafficModel
from schemas.geo import haversine_m

__all__ = ["Dispatch"]


class Dispatch:
    def __init__(self, fleet: Fleet, traffic: TrafficModel, params: MatchingParams, traffic_params: TrafficParams) -> None:
        self._fleet = fleet
        self._index = fleet.index
        self._traffic = traffic
        self._params = params
        self._detour = params.eta_detour * traffic_params.detour_factor

    def eta_limit_s(self, trip: Trip, now: int) -> float:
        """How far (in estimated pickup time) the search reaches now: it starts near and widens while the
        rider waits, up to the cap. A far car is sent only when no nearer one turned up meanwhile (apps
        widen their dispatch radius over the search rather than sending the first car in range)."""
        params = self._params
        waited_s = (now - trip.requested_ms) / 1000
        return min(params.max_pickup_eta_s, params.initial_pickup_eta_s + params.pickup_eta_growth * waited_s)

    def candidates(self, trip: Trip, now: int) -> list[tuple[Driver, Candidate]]:
        """Drivers near the pickup who can take the offer, with an estimated pickup time within the search's
        current reach, ranked (best first): idle ones, and those dropping a rider off nearby within the
        forward-dispatch horizon (their estimate starts at the drop-off)."""
        params = self._params
        limit_s = self.eta_limit_s(trip, now)
        p_lat, p_lon, _ = trip.pickup
        speed_mps = self._traffic.speed_kmh(now) / 3.6
        forward_ms = int(params.forward_dispatch_s * 1000)
        want = params.max_candidates * 2
        found: list[tuple[Driver, Candidate]] = []
        for _, driver in self._index.ring_search(p_lat, p_lon, max_k=params.max_ring_k, want=want):
            if not self._fleet.can_take_offer(driver, now, forward_ms):
                continue
            lat, lon = (driver.leg.position(now)[:2]) if driver.leg is not None else (driver.lat, driver.lon)
            self._consider(found, driver, haversine_m(lat, lon, p_lat, p_lon) * self._detour / speed_mps, limit_s)
        if forward_ms:
            for _, driver in self._fleet.finishing.ring_search(p_lat, p_lon, max_k=params.max_ring_k, want=want):
                if driver.trip is None or not self._fleet.can_take_offer(driver, now, forward_ms):
                    continue
                d_lat, d_lon, _ = driver.trip.dropoff
                remaining_s = (driver.trip.leg.end_ms - now) / 1000 if driver.trip.leg is not None else 0.0
                self._consider(found, driver, remaining_s + haversine_m(d_lat, d_lon, p_lat, p_lon) * self._detour / speed_mps,
                               limit_s)
        by_id = {c.driver_id: d for d, c in found}
        return [(by_id[c.driver_id], c) for c in rank_candidates(params, [c for _, c in found])]

    def _consider(self, found: list[tuple[Driver, Candidate]], driver: Driver, drive_s: float, limit_s: float) -> None:
        eta = drive_s + self._params.eta_overhead_s
        if eta <= limit_s:
            found.append((driver, Candidate(driver.driver_id, eta, driver.rating, driver.dna.acceptance_rate)))
