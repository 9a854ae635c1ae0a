"""Dispatch: the matchable drivers near a pickup, with an estimated pickup time, ranked best first."""

from __future__ import annotations

from agents_sim.agents.state import Driver, Trip
from agents_sim.fleet import MATCHABLE
from agents_sim.matching import Candidate, rank_candidates
from agents_sim.params import MatchingParams, TrafficParams
from agents_sim.world.driver_index import DriverIndex
from agents_sim.world.router import TrafficModel
from schemas.geo import haversine_m

__all__ = ["Dispatch"]


class Dispatch:
    def __init__(self, index: DriverIndex[Driver], traffic: TrafficModel, params: MatchingParams, traffic_params: TrafficParams) -> None:
        self._index = index
        self._traffic = traffic
        self._params = params
        self._detour = params.eta_detour * traffic_params.detour_factor

    def candidates(self, trip: Trip, now: int) -> list[tuple[Driver, Candidate]]:
        """Matchable drivers near the pickup whose estimated pickup time is within the cap, ranked (best first)."""
        params = self._params
        p_lat, p_lon, _ = trip.pickup
        speed_mps = self._traffic.speed_kmh(now) / 3.6
        found: list[tuple[Driver, Candidate]] = []
        for _, driver in self._index.ring_search(p_lat, p_lon, max_k=params.max_ring_k, want=params.max_candidates * 2):
            if driver.offered is not None or driver.trip is not None or driver.status not in MATCHABLE:
                continue
            lat, lon = (driver.leg.position(now)[:2]) if driver.leg is not None else (driver.lat, driver.lon)
            eta = haversine_m(lat, lon, p_lat, p_lon) * self._detour / speed_mps + params.eta_overhead_s
            if eta > params.max_pickup_eta_s:
                continue
            found.append((driver, Candidate(driver.driver_id, eta, driver.rating, driver.dna.acceptance_rate)))
        by_id = {c.driver_id: d for d, c in found}
        return [(by_id[c.driver_id], c) for c in rank_candidates(params, [c for _, c in found])]
