"""A trip from request to payment: the `serve_trip` process and the steps it is made of.

`serve_trip` is resumable from any state (a restored checkpoint re-enters it mid-trip): it runs
matching while the trip is searching, then the pickup, boarding and ride phases. Decisions that
depend on the future (will the rider give up on a late car, will the driver cancel) are drawn when
the trip enters a phase and stored on the trip, so a phase is one timeout and not a polling loop.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from agents_sim.agents.state import Driver, Rider, Trip
from agents_sim.identity_changes import maybe_promote_rider
from agents_sim.movement import Leg
from agents_sim.trips import TripState

if TYPE_CHECKING:
    from agents_sim.simulation import Simulation

__all__ = ["cancel_trip", "request_trip", "serve_trip"]

S = TripState
SEARCHING = (S.REQUESTED, S.OFFER_SENT, S.OFFER_EXPIRED, S.OFFER_REJECTED)
_MIN = 60_000


def _choose_dropoff(sim: Simulation, rider: Rider) -> tuple[float, float, str]:
    rng = sim.rng
    dna = rider.dna
    away_m = abs(rider.lat - dna.home_lat) * 111_195 + abs(rider.lon - dna.home_lon) * 102_000
    if away_m > 1500 and rng.random() < 0.6:
        return dna.home_lat, dna.home_lon, dna.home_zone_id
    hour = sim.demand.local_hour(sim.now)
    weights = [d.affinity(hour) for d in dna.destinations]
    pick = rng.random() * (sum(weights) + 1.5)  # 1.5: weight of a one-off destination
    for dest, weight in zip(dna.destinations, weights, strict=True):
        pick -= weight
        if pick < 0 and abs(dest.lat - rider.lat) + abs(dest.lon - rider.lon) > 0.005:
            return dest.lat, dest.lon, dest.zone_id
    return sim.places.point_at_distance(rider.lat, rider.lon, sim.new_trip_km(), rng)


def request_trip(sim: Simulation, rider: Rider, dropoff: tuple[float, float, str] | None) -> Trip | None:
    """The rider opens the app: a quote with the pickup zone's surge; too expensive -> retry later,
    else a trip is requested and `serve_trip` starts. Returns the trip, or None when refused."""
    rng = sim.rng
    dropoff = dropoff or _choose_dropoff(sim, rider)
    pickup = (rider.lat, rider.lon, rider.zone_id)
    surge = round(min(sim.surge.multiplier(pickup[2]), sim.config.pricing.surge_cap), 2)
    if surge > rider.dna.max_surge:
        sim.stats.surge_refusals += 1
        if rng.random() < 0.7:
            delay = int(rng.expovariate(1 / sim.config.demand.retry_after_min) * _MIN) + _MIN
            sim.env.process(sim.retry_later(rider, dropoff, delay))
        return None
    route = sim.router.route(pickup[0], pickup[1], dropoff[0], dropoff[1], depart_ms=sim.now)
    trip = Trip(trip_id=sim.trip_id(), rider=rider, pickup=pickup, dropoff=dropoff, surge_multiplier=surge,
                fare_estimate_brl=sim.fare_estimate(route.distance_m, route.duration_s, surge), requested_ms=sim.now)
    trip.search_deadline_ms = sim.now + int(sim.config.matching.give_up_s * 1000)
    if rng.random() < sim.config.rider.spontaneous_cancel_p:
        trip.cancel_at_ms = sim.now + int(rng.uniform(20, min(600, rider.dna.patience_s)) * 1000)
    rider.status = "waiting"
    rider.trip = trip
    sim.trips[trip.trip_id] = trip
    sim.gps.set_rider(rider.rider_id, rider.ordinal, rider)
    sim.emit_trip(trip, "requested")
    sim.note_request(pickup[2])
    trip.proc = sim.env.process(serve_trip(sim, trip))
    return trip


def serve_trip(sim: Simulation, trip: Trip) -> Generator[simpy.Event, Any, None]:
    try:
        if trip.state in SEARCHING and not (yield from match(sim, trip)):
            return
        if trip.state in (S.DRIVER_ASSIGNED, S.EN_ROUTE_PICKUP) and not (yield from drive_to_pickup(sim, trip)):
            return
        if trip.state == S.AT_PICKUP and not (yield from board(sim, trip)):
            return
        if trip.state == S.IN_TRANSIT:
            yield from ride(sim, trip)
    except simpy.Interrupt as stop:
        if trip.state not in (S.COMPLETED, S.CANCELLED, S.NO_DRIVERS_AVAILABLE):
            cancel_trip(sim, trip, "system", str(stop.cause or "system_stop"))


def _wait_until(sim: Simulation, t_ms: int) -> simpy.Event:
    return sim.env.timeout(max(0, t_ms - sim.now))


def _accepts(sim: Simulation, driver: Driver, trip: Trip, eta_s: float) -> bool:
    dna = driver.dna
    p = dna.acceptance_rate + (dna.surge_acceptance_modifier if trip.surge_multiplier > 1.0 else 0.0)
    if trip.rider.rating < dna.min_rider_rating:
        p *= 0.3
    if eta_s > 600:
        p *= 0.6
    return sim.rng.random() < p


def match(sim: Simulation, trip: Trip) -> Generator[simpy.Event, Any, bool]:
    """Sequential offers to the best candidates of an H3 ring search until one accepts, the rider
    cancels, or the search gives up (no_drivers_available). True when a driver was assigned."""
    params = sim.config.matching
    timeout_ms = int(params.offer_timeout_s * 1000)
    if trip.state == S.OFFER_SENT:  # restored mid-offer: the offer is lost with the old process
        trip.move(S.OFFER_EXPIRED)
        sim.emit_trip(trip, "offer_expired")
        trip.driver = None
    while True:
        for driver, candidate in sim.candidates(trip):
            if trip.cancel_at_ms is not None and sim.now >= trip.cancel_at_ms:
                break
            if driver.offered is not None or driver.trip is not None or driver.status not in ("available", "repositioning"):
                continue
            trip.offer_sequence += 1
            trip.driver = driver
            trip.eta_s = candidate.eta_s
            trip.move(S.OFFER_SENT)
            driver.offered = trip.trip_id
            sim.emit_trip(trip, "offer_sent")
            response_ms = int(driver.dna.response_time_s * sim.rng.uniform(0.4, 1.6) * 1000)
            accepted = _accepts(sim, driver, trip, candidate.eta_s)
            yield sim.env.timeout(min(response_ms, timeout_ms))
            driver.offered = None
            if response_ms >= timeout_ms:
                trip.move(S.OFFER_EXPIRED)
                sim.emit_trip(trip, "offer_expired")
            elif accepted and driver.trip is None and driver.status in ("available", "repositioning"):
                assign(sim, trip, driver)
                return True
            else:
                trip.move(S.OFFER_REJECTED)
                sim.emit_trip(trip, "offer_rejected")
            trip.driver = None
            trip.eta_s = None
        if trip.cancel_at_ms is not None and sim.now >= trip.cancel_at_ms:
            cancel_trip(sim, trip, "rider", trip.rider_cancel_reason)
            return False
        if sim.now >= trip.search_deadline_ms:
            trip.move(S.NO_DRIVERS_AVAILABLE)
            sim.emit_trip(trip, "no_drivers_available")
            _finish(sim, trip)
            if sim.rng.random() < 0.5:
                _retry(sim, trip.rider, trip.dropoff, sim.config.demand.retry_after_min)
            return False
        wake = min(sim.now + int(params.retry_search_s * 1000), trip.search_deadline_ms)
        if trip.cancel_at_ms is not None:
            wake = min(wake, trip.cancel_at_ms)
        yield _wait_until(sim, wake)


def assign(sim: Simulation, trip: Trip, driver: Driver) -> None:
    """The driver accepted: plan the pickup route, decide late-car and driver cancellations."""
    rng = sim.rng
    trip.move(S.DRIVER_ASSIGNED)
    trip.assigned_ms = sim.now
    driver.trip = trip
    if driver.idle_wait and driver.proc is not None and driver.proc.is_alive:
        driver.proc.interrupt("assigned")
    if driver.leg is not None:
        driver.lat, driver.lon, driver.heading = driver.leg.position(sim.now)
    p_lat, p_lon, _ = trip.pickup
    leg = Leg(sim.router.route(driver.lat, driver.lon, p_lat, p_lon, depart_ms=sim.now), sim.now, "pickup")
    trip.eta_s = leg.route.duration_s
    driver.leg = leg
    trip.leg = leg
    sim.emit_trip(trip, "driver_assigned", route=leg)
    sim.set_status(driver, "en_route_pickup", "trip_assigned", trip)
    trip.move(S.EN_ROUTE_PICKUP)
    sim.emit_trip(trip, "en_route_pickup")
    # The rider gives up on a car that arrives after their patience (counted from the request).
    give_up = trip.requested_ms + int(trip.rider.dna.patience_s * 1000)
    if leg.end_ms > give_up and rng.random() < sim.config.rider.late_car_cancel_p:
        late = max(sim.now + 30_000, give_up)
        if trip.cancel_at_ms is None or late < trip.cancel_at_ms:
            trip.cancel_at_ms = late
            trip.rider_cancel_reason = "patience_expired"
    if rng.random() < driver.dna.cancel_tendency:
        trip.driver_cancel_at_ms = sim.now + int((leg.end_ms - sim.now) * rng.uniform(0.05, 0.7))


def drive_to_pickup(sim: Simulation, trip: Trip) -> Generator[simpy.Event, Any, bool]:
    driver = trip.driver
    assert driver is not None and trip.leg is not None
    arrive = trip.leg.end_ms
    rider_at = trip.cancel_at_ms if trip.cancel_at_ms is not None else arrive + 1
    driver_at = trip.driver_cancel_at_ms if trip.driver_cancel_at_ms is not None else arrive + 1
    first = min(arrive, rider_at, driver_at)
    yield _wait_until(sim, first)
    if first == arrive:
        driver.lat, driver.lon = trip.pickup[0], trip.pickup[1]
        driver.leg = None
        trip.leg = None
        trip.move(S.AT_PICKUP)
        sim.emit_trip(trip, "at_pickup")
        sim.gps.set_parked(driver.driver_id, driver.ordinal, driver)
        return True
    if first == driver_at:
        cancel_trip(sim, trip, "driver", "driver_cancelled")
        _retry(sim, trip.rider, trip.dropoff, 1.5)
    else:
        cancel_trip(sim, trip, "rider", trip.rider_cancel_reason)
    return False


def board(sim: Simulation, trip: Trip) -> Generator[simpy.Event, Any, bool]:
    rng = sim.rng
    if rng.random() < 0.01:  # the rider never shows up; the driver gives up after 5 minutes
        yield sim.env.timeout(5 * _MIN)
        cancel_trip(sim, trip, "driver", "rider_no_show")
        return False
    yield sim.env.timeout(int(rng.uniform(*sim.config.rider.boarding_s_range) * 1000))
    driver = trip.driver
    assert driver is not None
    speed_factor = rng.lognormvariate(0.0, sim.config.traffic.speed_sigma)
    p_lat, p_lon, _ = trip.pickup
    d_lat, d_lon, _ = trip.dropoff
    leg = Leg(sim.router.route(p_lat, p_lon, d_lat, d_lon, depart_ms=sim.now, speed_factor=speed_factor), sim.now, "trip")
    driver.leg = leg
    trip.leg = leg
    trip.picked_up_ms = sim.now
    trip.move(S.IN_TRANSIT)
    sim.emit_trip(trip, "in_transit", route=leg)
    sim.set_status(driver, "on_trip", "rider_picked_up", trip)
    rider = trip.rider
    rider.status = "riding"
    sim.gps.remove(rider.rider_id)
    return True


def ride(sim: Simulation, trip: Trip) -> Generator[simpy.Event, Any, None]:
    assert trip.leg is not None and trip.driver is not None
    yield _wait_until(sim, trip.leg.end_ms)
    leg = trip.leg
    driver, rider = trip.driver, trip.rider
    duration_s = (sim.now - leg.start_ms) / 1000
    fare = sim.fare_estimate(leg.route.distance_m, duration_s, trip.surge_multiplier)
    trip.move(S.COMPLETED)
    sim.emit_trip(trip, "completed", fare=fare, route=leg, actual_s=duration_s)
    sim.stats.add_fare(fare)
    _pay(sim, trip, fare)
    _rate(sim, trip)
    d_lat, d_lon, d_zone = trip.dropoff
    driver.lat, driver.lon = d_lat, d_lon
    rider.lat, rider.lon, rider.zone_id = d_lat, d_lon, d_zone
    driver.trips_completed += 1
    rider.trips_completed += 1
    maybe_promote_rider(sim, rider, trip)
    _release_driver(sim, trip, "trip_completed")
    _finish(sim, trip)


def _pay(sim: Simulation, trip: Trip, fare: float) -> None:
    assert trip.driver is not None
    payout = sim.split_payment(fare, sim.take_rate())
    record = sim.events.header(sim.now, trip.trip_id, trip.last_event_id)
    record.update({
        "payment_id": f"{trip.trip_id}-P", "trip_id": trip.trip_id, "rider_id": trip.rider.rider_id,
        "driver_id": trip.driver.driver_id, "payment_method": trip.rider.profile["payment_method"], "fare_brl": fare,
        "platform_fee_brl": payout.platform_fee_brl, "driver_payout_brl": payout.driver_payout_brl,
        "surge_multiplier": trip.surge_multiplier, "status": "captured" if sim.rng.random() > 0.004 else "failed",
    })
    sim.events.emit("payment", record)


def _stars(sim: Simulation, quality: float) -> int:
    """Stars from a 0..1 quality: ~90 % five stars at the average quality, rare ones and twos."""
    rng = sim.rng
    if rng.random() < min(0.99, 0.5 + 0.45 * quality):
        return 5
    x = rng.random()
    return 4 if x < 0.68 else 3 if x < 0.9 else 2 if x < 0.96 else 1


def _rate(sim: Simulation, trip: Trip) -> None:
    driver, rider = trip.driver, trip.rider
    assert driver is not None
    for rater_type, rater_id, ratee, quality, p_rate in (
        ("rider", rider.rider_id, driver, driver.dna.service_quality + rider.dna.rating_generosity * 0.2, 0.75),
        ("driver", driver.driver_id, rider, rider.dna.behaviour_factor, 0.9),
    ):
        if sim.rng.random() >= p_rate:
            continue
        stars = _stars(sim, quality)
        ratee.rating_sum += stars
        ratee.rating_count += 1
        record = sim.events.header(sim.now, trip.trip_id, trip.last_event_id)
        record.update({"rating_id": f"{trip.trip_id}-{rater_type[0]}", "trip_id": trip.trip_id, "rater_type": rater_type,
                       "rater_id": rater_id, "ratee_id": ratee.dna.driver_id if rater_type == "rider" else rider.rider_id,
                       "stars": stars})
        sim.events.emit("rating", record)


def _release_driver(sim: Simulation, trip: Trip, reason: str) -> None:
    driver = trip.driver
    if driver is None or driver.trip is not trip:
        return
    if driver.leg is not None:
        driver.lat, driver.lon, driver.heading = driver.leg.position(sim.now)
        driver.leg = None
    driver.trip = None
    driver.history.append({"t": sim.now, "trip_id": trip.trip_id, "outcome": trip.state.value})
    if driver.status != "offline":
        sim.set_status(driver, "available", reason, trip)
    if driver.free is not None and not driver.free.triggered:
        driver.free.succeed()


def _finish(sim: Simulation, trip: Trip) -> None:
    rider = trip.rider
    rider.history.append({"t": sim.now, "trip_id": trip.trip_id, "outcome": trip.state.value})
    if rider.trip is trip:
        rider.trip = None
        rider.status = "idle"
        sim.gps.remove(rider.rider_id)
    sim.trips.pop(trip.trip_id, None)


def _retry(sim: Simulation, rider: Rider, dropoff: tuple[float, float, str], mean_min: float) -> None:
    delay = int(sim.rng.expovariate(1 / mean_min) * _MIN) + 30_000
    sim.env.process(sim.retry_later(rider, dropoff, delay))


def cancel_trip(sim: Simulation, trip: Trip, by: str, reason: str) -> None:
    """Cancel (validated against who may cancel from the current state) and free driver and rider."""
    trip.cancel(by)
    sim.emit_trip(trip, "cancelled", cancelled_by=by, cancel_reason=reason)
    if trip.driver is not None and trip.driver.offered == trip.trip_id:
        trip.driver.offered = None
    _release_driver(sim, trip, "trip_cancelled")
    _finish(sim, trip)
