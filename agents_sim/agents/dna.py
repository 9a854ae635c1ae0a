"""Agent DNA: behavioural parameters fixed at creation (frozen), drawn from the seed and the agent's
index only, so agent N is the same person in every run with that seed whatever the population size."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from agents_sim.agents import identity
from agents_sim.agents.shift_plan import ShiftPlan
from agents_sim.params import DriverParams, RiderParams
from agents_sim.rng import derive_seed, stream
from agents_sim.world.sampling import PlaceSampler

__all__ = ["DESTINATION_KINDS", "Destination", "DriverDNA", "RiderDNA", "fleet_quantile", "make_driver_dna", "make_rider_dna"]

# Frequent-destination kinds and the local hours they attract trips (time-of-day affinity, weighted by
# RiderParams.destination_affinity_in_hours / _off_hours).
DESTINATION_KINDS: dict[str, tuple[int, ...]] = {
    "work": (6, 7, 8, 9, 10),
    "study": (6, 7, 8, 12, 13, 18, 19),
    "errands": (10, 11, 12, 13, 14, 15, 16),
    "leisure": (18, 19, 20, 21, 22, 23, 0, 1),
    "family": (10, 11, 12, 17, 18, 19),
}


@dataclass(frozen=True, slots=True)
class Destination:
    lat: float
    lon: float
    zone_id: str
    kind: str


@dataclass(frozen=True, slots=True)
class DriverDNA:
    driver_id: str
    full_name: str
    email: str
    phone: str
    vehicle_make: str
    vehicle_model: str
    vehicle_year: int
    vehicle_color: str
    license_plate: str
    home_lat: float
    home_lon: float
    home_zone_id: str
    shift_preference: str
    shift_start_hour: float   # local hour the shift usually starts
    split_shift_pm_hour: float | None  # split-shift drivers: local start of the PM block (the AM block starts at shift_start_hour)
    hours_per_day: float
    days_per_week: int
    work_days: tuple[int, ...]  # weekdays (0 = Monday) the driver works
    acceptance_rate: float
    cancel_tendency: float    # probability of cancelling an accepted trip
    service_quality: float    # 0..1, drives the stars riders give
    response_time_s: float    # mean time to answer an offer
    min_rider_rating: float   # riders rated below are declined
    surge_acceptance_modifier: float


@dataclass(frozen=True, slots=True)
class RiderDNA:
    rider_id: str
    full_name: str
    email: str
    phone: str
    home_lat: float
    home_lon: float
    home_zone_id: str
    behaviour_factor: float   # 0..1: politeness/punctuality, drives the stars drivers give
    patience_s: float
    max_surge: float
    rides_per_week: float
    destinations: tuple[Destination, ...]
    payment_method: str
    rating_generosity: float  # shifts the stars this rider gives


def _pick_weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    x = rng.random()
    for name, p in options:
        x -= p
        if x < 0:
            return name
    return options[-1][0]


def _trip_km(rng: random.Random, params: RiderParams) -> float:
    return min(params.trip_km_max, max(params.trip_km_min, rng.lognormvariate(math.log(params.trip_km_median), params.trip_km_sigma)))


def _shift_name(start_hour: float) -> str:
    if 4 <= start_hour < 9:
        return "morning"
    if 9 <= start_hour < 14:
        return "afternoon"
    if 14 <= start_hour < 19:
        return "evening"
    return "night"


# Low-discrepancy fleet coordinates: the R4 sequence (Roberts' generalised golden ratio, g^5 = g + 1). Driver i's
# coordinate d is frac(phase_d + i / g^(d+1)); drivers 0..N-1 fill the 4-D unit cube evenly for any N, so every
# weekday gets its share of drivers and the drivers of one day cover the shift-centre distribution evenly.
_R4 = 1.1673039782614187
_FLEET_DIMENSIONS = ("shift-centre", "work-week", "days-per-week", "split-shift")


def fleet_quantile(seed: int, index: int, dimension: str) -> float:
    """Driver `index`'s coordinate in one dimension of the fleet's schedule (0..1), phase from the seed.

    Independent draws per driver left a 400-driver fleet's Monday supply ±5–8 % off the plan in every hour
    and its driver count ±3 % (which drivers happen to work that day), so the pickup waits of a day depended
    on the seed; stratified coordinates keep the supply curve on plan, and each driver still depends only on
    the seed and its index."""
    d = _FLEET_DIMENSIONS.index(dimension)
    return (derive_seed(seed, "fleet-phase", dimension) / 2**64 + index / _R4 ** (d + 1)) % 1.0


def _work_days(seed: int, index: int, params: DriverParams) -> tuple[int, ...]:
    """A block of consecutive working days (days off together, as most drivers take them)."""
    lo, hi = params.days_per_week_range
    days = lo + min(hi - lo, int(fleet_quantile(seed, index, "days-per-week") * (hi - lo + 1)))
    first = int(fleet_quantile(seed, index, "work-week") * 7)
    return tuple(sorted((first + k) % 7 for k in range(days)))


def make_driver_dna(seed: int, index: int, params: DriverParams, places: PlaceSampler, plan: ShiftPlan) -> DriverDNA:
    rng = stream(seed, "driver", index)
    name = identity.full_name(rng)
    make, model, year, color = identity.vehicle(rng)
    lat, lon, zone_id = places.weighted_point(rng)
    hours = rng.uniform(*params.hours_per_day_range)
    start_hour = (plan.centre_hour(fleet_quantile(seed, index, "shift-centre")) - hours / 2) % 24
    pm_hour = None
    if fleet_quantile(seed, index, "split-shift") < params.split_shift_share:  # two blocks of hours/2 around the commute peaks
        am_centre, pm_centre = params.split_shift_centres_h
        jitter = params.split_shift_jitter_h
        start_hour = am_centre + rng.uniform(-jitter, jitter) - hours / 4
        pm_hour = pm_centre + rng.uniform(-jitter, jitter) - hours / 4
    shift = "flexible" if rng.random() < params.flexible_share else _shift_name(start_hour)
    work_days = _work_days(seed, index, params)
    return DriverDNA(
        driver_id=f"D{seed % 100_000:05d}-{index:06d}",
        full_name=name, email=identity.email_for(name, rng), phone=identity.phone_number(rng),
        vehicle_make=make, vehicle_model=model, vehicle_year=year, vehicle_color=color,
        license_plate=identity.license_plate(rng),
        home_lat=lat, home_lon=lon, home_zone_id=zone_id,
        shift_preference=shift, shift_start_hour=start_hour, split_shift_pm_hour=pm_hour, hours_per_day=hours,
        days_per_week=len(work_days), work_days=work_days,
        acceptance_rate=rng.uniform(*params.acceptance_rate_range),
        cancel_tendency=rng.uniform(*params.cancel_tendency_range),
        service_quality=rng.betavariate(*params.service_quality_alpha_beta),
        response_time_s=rng.uniform(*params.response_time_s_range),
        min_rider_rating=rng.uniform(*params.min_rider_rating_range),
        surge_acceptance_modifier=rng.uniform(*params.surge_acceptance_modifier_range),
    )


def make_rider_dna(seed: int, index: int, params: RiderParams, places: PlaceSampler) -> RiderDNA:
    rng = stream(seed, "rider", index)
    name = identity.full_name(rng)
    lat, lon, zone_id = places.weighted_point(rng)
    kinds = list(DESTINATION_KINDS)
    destinations = []
    for _ in range(rng.randint(*params.frequent_destinations)):
        dlat, dlon, dzone = places.point_at_distance(lat, lon, _trip_km(rng, params), rng)
        destinations.append(Destination(dlat, dlon, dzone, rng.choice(kinds)))
    return RiderDNA(
        rider_id=f"R{seed % 100_000:05d}-{index:07d}",
        full_name=name, email=identity.email_for(name, rng), phone=identity.phone_number(rng),
        home_lat=lat, home_lon=lon, home_zone_id=zone_id,
        behaviour_factor=rng.betavariate(*params.behaviour_factor_alpha_beta),
        patience_s=rng.uniform(*params.patience_min_range) * 60,
        max_surge=rng.uniform(*params.max_surge_range),
        rides_per_week=min(params.rides_per_week_cap_factor * params.rides_per_week_median,
                           rng.lognormvariate(math.log(params.rides_per_week_median), params.rides_per_week_sigma)),
        destinations=tuple(destinations),
        payment_method=_pick_weighted(rng, params.payment_mix),
        rating_generosity=rng.uniform(*params.rating_generosity_range),
    )


def trip_km(rng: random.Random, params: RiderParams) -> float:
    """A straight-line trip distance for an ad-hoc (non-frequent) destination."""
    return _trip_km(rng, params)
