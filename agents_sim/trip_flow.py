"""A trip from request to payment: the `serve_trip` process and the steps it is made of.

`serve_trip` is resumable from any state (a restored checkpoint re-enters it mid-trip): it runs
matching while the trip is searching, then the pickup, boarding and ride phases. Decisions that
depend on the future (will the rider give up on a late car, will the driver cancel) are drawn when
the trip enters a phase and stored on the trip, so a phase is one timeout and not a polling loop.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from agents_sim.agents.dna import DESTINATION_KINDS, trip_km
from agents_sim.agents.state import Driver, Rider, Trip
from agents_sim.dispatch import Dispatch
from agents_sim.events import EventFactory
from agents_sim.fleet import Fleet
from agents_sim.heatmap import DemandHeatmap
from agents_sim.identity_changes import Profiles
from agents_sim.movement import GpsSchedule, Leg
from agents_sim.params import SimConfig
from agents_sim.pricing import fare_brl
from agents_sim.rng import RandomStreams
from agents_sim.settlement import Settlement
from agents_sim.stats import SimStats
from agents_sim.surge import SurgeSource
from agents_sim.trips import TERMINAL, TripState
from agents_sim.world.city import City
from schemas.geo import encode_polyline

__all__ = ["SEARCHING", "TripFlow"]

S = TripState
SEARCHING = (S.REQUESTED, S.OFFER_SENT, S.OFFER_EXPIRED, S.OFFER_REJECTED)
_MIN = 60_000
# Metres per degree at São Paulo's latitude (a cheap distance from home; exact geometry is not needed here).
_M_PER_DEG_LAT = 111_195
_M_PER_DEG_LON = 102_000


class TripFlow:
    """Requests, matching, pickup, ride, payment and ratings of every trip; owns the active trips."""

    def __init__(self, env: simpy.Environment, config: SimConfig, city: City, events: EventFactory, fleet: Fleet,
                 dispatch: Dispatch, gps: GpsSchedule, stats: SimStats, surge: SurgeSource, heatmap: DemandHeatmap,
                 profiles: Profiles, settlement: Settlement, streams: RandomStreams) -> None:
        self._env = env
        self._config = config
        self._city = city
        self._events = events
        self._fleet = fleet
        self._dispatch = dispatch
        self._gps = gps
        self._stats = stats
        self._surge = surge
        self._heatmap = heatmap
        self._profiles = profiles
        self._settlement = settlement
        self._rider_rng = streams["rider-choices"]
        self._driver_rng = streams["driver-choices"]
        self._ride_rng = streams["ride"]
        self.trips: dict[str, Trip] = {}  # active (non-terminal) trips
        self.trip_counter = 0
        self.accepting_requests = True

    @property
    def _now(self) -> int:
        return int(self._env.now)

    # ------------------------------------------------------------ events

    def emit_trip(self, trip: Trip, event_type: str, *, fare: float | None = None, route: Leg | None = None,
                  cancelled_by: str | None = None, cancel_reason: str | None = None, actual_s: float | None = None) -> None:
        record = self._events.header(self._now, trip.trip_id, trip.last_event_id)
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
        self._events.emit("trip_event", record)
        self._stats.on_trip_event(event_type, p_zone, cancelled_by, cancel_reason)
        if self._events.trip_listeners:
            change = {"trip_id": trip.trip_id, "event_type": event_type, "state": trip.state.value, "event_time": record["event_time"],
                      "rider_id": record["rider_id"], "driver_id": record["driver_id"], "pickup_zone_id": p_zone,
                      "dropoff_zone_id": d_zone, "fare_brl": fare, "cancelled_by": cancelled_by, "cancel_reason": cancel_reason}
            for listener in self._events.trip_listeners:
                listener(change)

    # ------------------------------------------------------------ requests

    def _fare(self, distance_m: float, duration_s: float, surge: float) -> float:
        return fare_brl(self._config.pricing, distance_m / 1000, duration_s / 60, surge)

    def _next_trip_id(self) -> str:
        self.trip_counter += 1
        return f"{self._events.session_id}-T{self.trip_counter:07d}"

    def _choose_dropoff(self, rider: Rider) -> tuple[float, float, str]:
        rng = self._rider_rng
        params = self._config.rider
        dna = rider.dna
        away_m = abs(rider.lat - dna.home_lat) * _M_PER_DEG_LAT + abs(rider.lon - dna.home_lon) * _M_PER_DEG_LON
        if away_m > params.return_home_min_away_m and rng.random() < params.return_home_p:
            return dna.home_lat, dna.home_lon, dna.home_zone_id
        hour = self._city.demand.local_hour(self._now)
        weights = [params.destination_affinity_in_hours if hour in DESTINATION_KINDS[d.kind] else params.destination_affinity_off_hours
                   for d in dna.destinations]
        pick = rng.random() * (sum(weights) + params.one_off_destination_weight)
        for dest, weight in zip(dna.destinations, weights, strict=True):
            pick -= weight
            if pick < 0 and abs(dest.lat - rider.lat) + abs(dest.lon - rider.lon) > params.min_destination_deg:
                return dest.lat, dest.lon, dest.zone_id
        return self._city.places.point_at_distance(rider.lat, rider.lon, trip_km(rng, params), rng)

    def request_trip(self, rider: Rider, dropoff: tuple[float, float, str] | None) -> Trip | None:
        """The rider opens the app: a quote with the pickup zone's surge; too expensive -> retry later,
        else a trip is requested and `serve_trip` starts. Returns the trip, or None when refused."""
        rng = self._rider_rng
        config = self._config
        now = self._now
        dropoff = dropoff or self._choose_dropoff(rider)
        pickup = (rider.lat, rider.lon, rider.zone_id)
        surge = round(min(self._surge.multiplier(pickup[2]), config.pricing.surge_cap), 2)
        if surge > rider.dna.max_surge:
            self._stats.surge_refusals += 1
            if rng.random() < config.rider.surge_retry_p:
                delay = int(rng.expovariate(1 / config.demand.retry_after_min) * _MIN) + int(config.rider.surge_retry_floor_s * 1000)
                self._env.process(self.retry_later(rider, dropoff, delay))
            return None
        route = self._city.router.route(pickup[0], pickup[1], dropoff[0], dropoff[1], depart_ms=now)
        trip = Trip(trip_id=self._next_trip_id(), rider=rider, pickup=pickup, dropoff=dropoff, surge_multiplier=surge,
                    fare_estimate_brl=self._fare(route.distance_m, route.duration_s, surge), requested_ms=now)
        trip.search_deadline_ms = now + int(config.matching.give_up_s * 1000)
        if rng.random() < config.rider.spontaneous_cancel_p:
            earliest_s, latest_s = config.rider.spontaneous_cancel_s_range
            trip.cancel_at_ms = now + int(rng.uniform(earliest_s, min(latest_s, rider.dna.patience_s)) * 1000)
        rider.status = "waiting"
        rider.trip = trip
        self.trips[trip.trip_id] = trip
        self._gps.set_rider(rider.rider_id, rider.ordinal, rider)
        self.emit_trip(trip, "requested")
        self._heatmap.note_request(pickup[2])
        trip.proc = self._env.process(self.serve_trip(trip))
        return trip

    def retry_later(self, rider: Rider, dropoff: tuple[float, float, str], delay_ms: int) -> Generator[simpy.Event, Any, None]:
        yield self._env.timeout(delay_ms)
        if rider.status == "idle" and self.accepting_requests:
            self.request_trip(rider, dropoff)

    def _retry(self, rider: Rider, dropoff: tuple[float, float, str], mean_min: float) -> None:
        delay = int(self._rider_rng.expovariate(1 / mean_min) * _MIN) + int(self._config.rider.retry_floor_s * 1000)
        self._env.process(self.retry_later(rider, dropoff, delay))

    # ------------------------------------------------------------ the trip process

    def serve_trip(self, trip: Trip) -> Generator[simpy.Event, Any, None]:
        try:
            if trip.state in SEARCHING and not (yield from self._match(trip)):
                return
            if trip.state in (S.DRIVER_ASSIGNED, S.EN_ROUTE_PICKUP) and not (yield from self._drive_to_pickup(trip)):
                return
            if trip.state == S.AT_PICKUP and not (yield from self._board(trip)):
                return
            if trip.state == S.IN_TRANSIT:
                yield from self._ride(trip)
        except simpy.Interrupt as stop:
            if trip.state not in (S.COMPLETED, S.CANCELLED, S.NO_DRIVERS_AVAILABLE):
                self.cancel_trip(trip, "system", str(stop.cause or "system_stop"))

    def _wait_until(self, t_ms: int) -> simpy.Event:
        return self._env.timeout(max(0, t_ms - self._now))

    def _accepts(self, driver: Driver, trip: Trip, eta_s: float) -> bool:
        dna = driver.dna
        params = self._config.driver
        p = dna.acceptance_rate + (dna.surge_acceptance_modifier if trip.surge_multiplier > 1.0 else 0.0)
        if trip.rider.rating < dna.min_rider_rating:
            p *= params.low_rating_acceptance_factor
        if eta_s > params.far_pickup_s:
            p *= params.far_pickup_acceptance_factor
        return self._driver_rng.random() < p

    def _match(self, trip: Trip) -> Generator[simpy.Event, Any, bool]:
        """Sequential offers to the best candidates of an H3 ring search until one accepts, the rider
        cancels, or the search gives up (no_drivers_available). True when a driver was assigned."""
        params = self._config.matching
        timeout_ms = int(params.offer_timeout_s * 1000)
        forward_ms = int(params.forward_dispatch_s * 1000)
        if trip.state == S.OFFER_SENT:  # restored mid-offer: the offer is lost with the old process
            trip.move(S.OFFER_EXPIRED)
            self.emit_trip(trip, "offer_expired")
            trip.driver = None
        while True:
            for driver, candidate in self._dispatch.candidates(trip, self._now):
                if trip.cancel_at_ms is not None and self._now >= trip.cancel_at_ms:
                    break
                if not self._fleet.can_take_offer(driver, self._now, forward_ms):
                    continue
                trip.offer_sequence += 1
                trip.driver = driver
                trip.eta_s = candidate.eta_s
                trip.move(S.OFFER_SENT)
                driver.offered = trip.trip_id
                self.emit_trip(trip, "offer_sent")
                response_ms = int(driver.dna.response_time_s * self._driver_rng.uniform(*self._config.driver.response_jitter_range) * 1000)
                accepted = self._accepts(driver, trip, candidate.eta_s)
                yield self._env.timeout(min(response_ms, timeout_ms))
                driver.offered = None
                if response_ms >= timeout_ms:
                    trip.move(S.OFFER_EXPIRED)
                    self.emit_trip(trip, "offer_expired")
                elif accepted and self._fleet.can_take_offer(driver, self._now, forward_ms):
                    self._assign(trip, driver)
                    return True
                else:
                    trip.move(S.OFFER_REJECTED)
                    self.emit_trip(trip, "offer_rejected")
                trip.driver = None
                trip.eta_s = None
            if trip.cancel_at_ms is not None and self._now >= trip.cancel_at_ms:
                self.cancel_trip(trip, "rider", trip.rider_cancel_reason)
                return False
            if self._now >= trip.search_deadline_ms:
                trip.move(S.NO_DRIVERS_AVAILABLE)
                self.emit_trip(trip, "no_drivers_available")
                self._finish(trip)
                if self._rider_rng.random() < self._config.rider.unfulfilled_retry_p:
                    self._retry(trip.rider, trip.dropoff, self._config.demand.retry_after_min)
                return False
            wake = min(self._now + int(params.retry_search_s * 1000), trip.search_deadline_ms)
            if trip.cancel_at_ms is not None:
                wake = min(wake, trip.cancel_at_ms)
            yield self._wait_until(wake)

    def _assign(self, trip: Trip, driver: Driver) -> None:
        """The driver accepted: plan the pickup route, decide late-car and driver cancellations. A driver
        still carrying a rider queues the trip and drives to it from the drop-off (forward dispatch)."""
        now = self._now
        rider_params = self._config.rider
        trip.move(S.DRIVER_ASSIGNED)
        trip.assigned_ms = now
        p_lat, p_lon, _ = trip.pickup
        if driver.trip is not None:
            current = driver.trip
            assert current.leg is not None
            driver.next_trip = trip
            trip.handover = self._env.event()
            self._fleet.not_riding(driver)
            d_lat, d_lon, _ = current.dropoff
            start = current.leg.end_ms
            leg = Leg(self._city.router.route(d_lat, d_lon, p_lat, p_lon, depart_ms=start), start, "pickup")
            trip.eta_s = (leg.end_ms - now) / 1000
            trip.leg = leg
            self.emit_trip(trip, "driver_assigned", route=leg)
        else:
            driver.trip = trip
            if driver.idle_wait and driver.proc is not None and driver.proc.is_alive:
                driver.proc.interrupt("assigned")
            if driver.leg is not None:
                driver.lat, driver.lon, driver.heading = driver.leg.position(now)
            leg = Leg(self._city.router.route(driver.lat, driver.lon, p_lat, p_lon, depart_ms=now), now, "pickup")
            trip.eta_s = leg.route.duration_s
            driver.leg = leg
            trip.leg = leg
            self.emit_trip(trip, "driver_assigned", route=leg)
            self._fleet.set_status(driver, "en_route_pickup", "trip_assigned", trip)
            trip.move(S.EN_ROUTE_PICKUP)
            self.emit_trip(trip, "en_route_pickup")
        # The rider gives up on a car that arrives after their patience (counted from the request).
        give_up = trip.requested_ms + int(trip.rider.dna.patience_s * 1000)
        if leg.end_ms > give_up and self._rider_rng.random() < rider_params.late_car_cancel_p:
            late = max(now + int(rider_params.late_car_cancel_min_s * 1000), give_up)
            if trip.cancel_at_ms is None or late < trip.cancel_at_ms:
                trip.cancel_at_ms = late
                trip.rider_cancel_reason = "patience_expired"
        if self._driver_rng.random() < driver.dna.cancel_tendency:
            share = self._driver_rng.uniform(*self._config.driver.cancel_after_leg_share_range)
            trip.driver_cancel_at_ms = now + int((leg.end_ms - now) * share)

    def _drive_to_pickup(self, trip: Trip) -> Generator[simpy.Event, Any, bool]:
        driver = trip.driver
        assert driver is not None and trip.leg is not None
        arrive = trip.leg.end_ms
        rider_at = trip.cancel_at_ms if trip.cancel_at_ms is not None else arrive + 1
        driver_at = trip.driver_cancel_at_ms if trip.driver_cancel_at_ms is not None else arrive + 1
        first = min(arrive, rider_at, driver_at)
        handover = trip.handover
        if handover is not None and not handover.triggered:
            # queued: the driver is still carrying the previous rider
            yield handover | self._wait_until(first)
            if not handover.triggered:
                self._cancel_before_arrival(trip, by_driver=first == driver_at)
                return False
        yield self._wait_until(first)
        if first == arrive:
            driver.lat, driver.lon = trip.pickup[0], trip.pickup[1]
            driver.leg = None
            trip.leg = None
            trip.move(S.AT_PICKUP)
            self.emit_trip(trip, "at_pickup")
            self._gps.set_parked(driver.driver_id, driver.ordinal, driver)
            return True
        self._cancel_before_arrival(trip, by_driver=first == driver_at)
        return False

    def _cancel_before_arrival(self, trip: Trip, *, by_driver: bool) -> None:
        if by_driver:
            self.cancel_trip(trip, "driver", "driver_cancelled")
            self._retry(trip.rider, trip.dropoff, self._config.rider.retry_after_driver_cancel_min)
        else:
            self.cancel_trip(trip, "rider", trip.rider_cancel_reason)

    def _board(self, trip: Trip) -> Generator[simpy.Event, Any, bool]:
        rng = self._ride_rng
        config = self._config
        if rng.random() < config.rider.no_show_p:  # the rider never shows up; the driver gives up after the free wait
            yield self._env.timeout(int(config.rider.no_show_wait_s * 1000))
            self.cancel_trip(trip, "driver", "rider_no_show")
            return False
        yield self._env.timeout(int(rng.uniform(*config.rider.boarding_s_range) * 1000))
        driver = trip.driver
        assert driver is not None
        now = self._now
        speed_factor = rng.lognormvariate(0.0, config.traffic.speed_sigma)
        p_lat, p_lon, _ = trip.pickup
        d_lat, d_lon, _ = trip.dropoff
        leg = Leg(self._city.router.route(p_lat, p_lon, d_lat, d_lon, depart_ms=now, speed_factor=speed_factor), now, "trip")
        driver.leg = leg
        trip.leg = leg
        trip.picked_up_ms = now
        trip.move(S.IN_TRANSIT)
        self.emit_trip(trip, "in_transit", route=leg)
        self._fleet.set_status(driver, "on_trip", "rider_picked_up", trip)
        self._fleet.riding(driver, trip.dropoff)
        rider = trip.rider
        rider.status = "riding"
        self._gps.remove(rider.rider_id)
        return True

    def _ride(self, trip: Trip) -> Generator[simpy.Event, Any, None]:
        assert trip.leg is not None and trip.driver is not None
        yield self._wait_until(trip.leg.end_ms)
        now = self._now
        leg = trip.leg
        driver, rider = trip.driver, trip.rider
        duration_s = (now - leg.start_ms) / 1000
        fare = self._fare(leg.route.distance_m, duration_s, trip.surge_multiplier)
        trip.move(S.COMPLETED)
        self.emit_trip(trip, "completed", fare=fare, route=leg, actual_s=duration_s)
        self._stats.add_fare(fare)
        self._settlement.pay(trip, fare, now)
        self._settlement.rate(trip, now)
        d_lat, d_lon, d_zone = trip.dropoff
        driver.lat, driver.lon = d_lat, d_lon
        rider.lat, rider.lon, rider.zone_id = d_lat, d_lon, d_zone
        driver.trips_completed += 1
        rider.trips_completed += 1
        self._profiles.maybe_promote(rider, trip)
        self._release_driver(trip, "trip_completed")
        self._finish(trip)

    def _release_driver(self, trip: Trip, reason: str) -> None:
        driver = trip.driver
        if driver is None or driver.trip is not trip:
            return
        now = self._now
        if driver.leg is not None:
            driver.lat, driver.lon, driver.heading = driver.leg.position(now)
            driver.leg = None
        driver.trip = None
        driver.history.append({"t": now, "trip_id": trip.trip_id, "outcome": trip.state.value})
        self._fleet.not_riding(driver)
        queued = driver.next_trip
        if queued is not None:
            self._hand_over(driver, queued)
            return  # still busy: the shift process keeps waiting for `free`
        if driver.status != "offline":
            self._fleet.set_status(driver, "available", reason, trip)
        if driver.free is not None and not driver.free.triggered:
            driver.free.succeed()

    def _hand_over(self, driver: Driver, trip: Trip) -> None:
        """The drop-off is done: the driver heads for the queued trip's pickup along its planned leg."""
        driver.next_trip = None
        driver.trip = trip
        driver.leg = trip.leg
        self._fleet.set_status(driver, "en_route_pickup", "next_trip", trip)
        trip.move(S.EN_ROUTE_PICKUP)
        self.emit_trip(trip, "en_route_pickup")
        if trip.handover is not None and not trip.handover.triggered:
            trip.handover.succeed()

    def _finish(self, trip: Trip) -> None:
        rider = trip.rider
        rider.history.append({"t": self._now, "trip_id": trip.trip_id, "outcome": trip.state.value})
        if rider.trip is trip:
            rider.trip = None
            rider.status = "idle"
            self._gps.remove(rider.rider_id)
        self.trips.pop(trip.trip_id, None)

    def cancel_trip(self, trip: Trip, by: str, reason: str) -> None:
        """Cancel (validated against who may cancel from the current state) and free driver and rider."""
        trip.cancel(by)
        self.emit_trip(trip, "cancelled", cancelled_by=by, cancel_reason=reason)
        driver = trip.driver
        if driver is not None and driver.offered == trip.trip_id:
            driver.offered = None
        if driver is not None and driver.next_trip is trip:  # queued: the driver carries on with its rider
            driver.next_trip = None
            if driver.trip is not None and driver.status == "on_trip":
                self._fleet.riding(driver, driver.trip.dropoff)
        self._release_driver(trip, "trip_cancelled")
        self._finish(trip)

    def active_states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trip in self.trips.values():
            if trip.state not in TERMINAL:
                counts[trip.state.value] = counts.get(trip.state.value, 0) + 1
        return counts
