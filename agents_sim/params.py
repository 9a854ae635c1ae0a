"""Every tunable number of the simulation, in one place, with the basis of its calibrated value.

Bands referred to below are those of docs/calibration.md. All parameters are frozen dataclasses
validated on construction; `SimConfig.replace(...)` rejects unknown names (a typo never silently falls
back to a default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agents_sim.exceptions import ConfigError

__all__ = [
    "DEFAULT_START",
    "DemandParams",
    "DriverParams",
    "GpsParams",
    "MatchingParams",
    "PricingParams",
    "ProfileParams",
    "RatingParams",
    "RiderParams",
    "ServiceAreaParams",
    "SimConfig",
    "TrafficParams",
    "parse_start",
]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
# A Monday 06:00 local time (UTC-3): the default start instant.
DEFAULT_START = "2026-03-02T06:00:00-03:00"


def parse_start(value: str) -> int:
    """ISO-8601 instant -> UTC epoch milliseconds; a naive value is read as São Paulo local time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--start {value!r} is not an ISO-8601 time; try 2026-03-02T06:00:00-03:00") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SAO_PAULO)
    return int(moment.timestamp() * 1000)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _check_hourly(name: str, values: tuple[float, ...]) -> None:
    _check(len(values) == 24, f"{name} needs 24 hourly values, got {len(values)}")
    _check(all(v > 0 for v in values), f"{name} values must be positive")


@dataclass(frozen=True)
class TrafficParams:
    """Street speeds. In-trip speed by local hour follows the CET bands (7–10 h 18–25 km/h, 10–17 h 20–28,
    17–20 h 14–20, 0–5 h 30–40). Free flow 32 km/h makes trip-weighted durations ~35 % longer than free flow
    (Fipe/USP band 31–40 %)."""

    speed_kmh_by_hour: tuple[float, ...] = (
        30.5, 31, 31, 31, 30.5, 29,  # 0–5 h: near free flow
        26, 22, 21, 22,           # 6–9 h: AM peak (CET 25.5 km/h on arterials, lower door to door)
        24, 25, 24, 24, 24, 24, 23,  # 10–16 h
        18, 17, 18,               # 17–19 h: PM peak (CET 20.9, arterials 15–16)
        22, 26, 28, 31,           # 20–23 h
    )
    free_flow_kmh: float = 32.0
    # Per-trip speed spread (lognormal sigma): same hour, different streets and luck.
    speed_sigma: float = 0.12
    # Streets are not straight lines: network distance / great-circle distance, typical for grid-like
    # cities (1.2–1.4 in the routing literature); the grid router reaches ~1.27 by construction and this
    # factor adds the rest for curving streets.
    detour_factor: float = 1.08
    # Long trips use arterials and marginais (Tietê, Pinheiros): up to +25 % speed for trips of 20 km and
    # more, which keeps the duration p95 at 40–50 min while the distance p95 is 20–30 km.
    long_trip_speedup: float = 0.25
    long_trip_km: tuple[float, float] = (4.0, 20.0)
    block_m: float = 220.0  # street-grid block size of the synthetic router (São Paulo blocks 100–300 m)

    def __post_init__(self) -> None:
        _check_hourly("speed_kmh_by_hour", self.speed_kmh_by_hour)
        _check(5 <= self.free_flow_kmh <= 80, "free_flow_kmh must be 5..80")
        _check(0 <= self.speed_sigma < 1, "speed_sigma must be 0..1")
        _check(1.0 <= self.detour_factor <= 2.0, "detour_factor must be 1..2")
        _check(50 <= self.block_m <= 1000, "block_m must be 50..1000")


@dataclass(frozen=True)
class DemandParams:
    """When riders ask for trips. Hourly shares of a weekday's requests: AM peak at 8 h, a larger and longer PM
    peak over 17–19 h, 0–6 h ~13 % (band 8–14 %), shape of the Metrô OD survey 2017 and NYC/Chicago TNC curves.
    The PM peak is broad rather than tall (three hours near 7 %): the busiest hour stays within 6–8 % of the
    day, and the PM peak exceeds the AM peak by ~25 %, well above an hour's sampling noise at a few thousand
    requests a day (retries after a refused surge or a failed search also land later in the morning).
    Weekday factors: Friday heaviest, weekend days busier (+10–20 %)."""

    hourly_share: tuple[float, ...] = (
        0.024, 0.015, 0.011, 0.009, 0.011, 0.024,  # 0–5 h (9.4 %), plus 6 h below -> 0–6 h ≈ 13 % of requests
        0.040, 0.051, 0.054, 0.046,                # 6–9 h: AM peak at 8 h (smaller than the PM peak, OD survey)
        0.042, 0.042, 0.046, 0.046, 0.046, 0.051, 0.059,  # 10–16 h: the AM peak stands ~25 % above the midday hours
        0.068, 0.069, 0.066,                       # 17–19 h: PM peak (largest; peak hour 6–8 % of the day)
        0.058, 0.050, 0.040, 0.032,                # 20–23 h
    )
    day_factor: tuple[float, ...] = (0.95, 0.97, 1.0, 1.03, 1.15, 1.15, 1.0)  # Monday..Sunday
    # A rider refused by surge or left without a driver tries again after this many minutes (mean).
    retry_after_min: float = 12.0
    # Share of a zone's trips made by app (the rest by transit), for riders away from home: (the zone's demand
    # weight relative to the mean zone) ** this exponent, capped at 1. Requests are weighted by zone demand, so
    # riders dropped off in the outskirts mostly return by other means (Metrô OD survey: app trips concentrate in
    # the expanded centre); the square root keeps a quiet zone's share from vanishing.
    app_share_exponent: float = 0.5

    def __post_init__(self) -> None:
        _check_hourly("hourly_share", self.hourly_share)
        _check(abs(sum(self.hourly_share) - 1.0) < 0.01, f"hourly_share must sum to 1 (got {sum(self.hourly_share):.3f})")
        _check(len(self.day_factor) == 7 and all(f > 0 for f in self.day_factor), "day_factor needs 7 positive values")
        _check(self.retry_after_min > 0, "retry_after_min must be positive")


@dataclass(frozen=True)
class RiderParams:
    """Rider DNA ranges. Trip lengths: straight-line km lognormal (median 4.5, sigma 0.80) times the
    router's ~1.37 detour, shortened where the demand bias near the service-area edge bends trips inward,
    gives network trips of mean ~7.9 km, median ~5.9 km, p95 ~21 km (bands 6–9, 4.5–7, 20–30)."""

    # ~0.55 requests/rider-day: at 400 drivers / 6,000 riders this loads drivers to ~1.6 trips per online hour
    # (band 1.5–2.5) and the scaled city volume to ~1 M trips/day (band 0.8–1.2 M).
    rides_per_week_median: float = 4.0
    rides_per_week_sigma: float = 0.6
    trip_km_median: float = 4.5
    trip_km_sigma: float = 0.80
    trip_km_max: float = 35.0
    patience_min_range: tuple[float, float] = (8.0, 25.0)  # how long a rider is ready to wait for a car
    # Share of riders who cancel when the car will arrive after their patience (others keep waiting);
    # with the spontaneous cancellations this lands rider cancels at 5–10 % of requests.
    late_car_cancel_p: float = 0.6
    max_surge_range: tuple[float, float] = (1.3, 3.0)
    frequent_destinations: tuple[int, int] = (2, 5)
    # Payment mix in Brazil's ride-hailing (card dominant, Pix rising, cash shrinking).
    payment_mix: tuple[tuple[str, float], ...] = (
        ("credit_card", 0.46), ("debit_card", 0.12), ("pix", 0.24), ("cash", 0.10), ("wallet", 0.08),
    )
    # Share of requests a rider cancels before any driver arrives for reasons of their own (changed plans).
    spontaneous_cancel_p: float = 0.055  # with late-car cancels -> rider cancels 5–10 % of requests
    # From the car's arrival to the rider getting in: riders follow the car on the app and most are at the
    # curb (free waiting time is 2 min at Uber/99, rarely used up).
    boarding_s_range: tuple[float, float] = (10.0, 30.0)
    trip_km_min: float = 0.6  # shorter hops are walked
    # A heavy user's rides per week are capped at this multiple of the median (no robots among riders).
    rides_per_week_cap_factor: float = 10.0
    # Trip chaining: a rider more than `return_home_min_away_m` from home goes home next with this probability
    # (home-based trips are about half of all trips in the Metrô OD survey; the rest chain errands and work).
    return_home_min_away_m: float = 1500.0
    return_home_p: float = 0.6
    # Weight of a one-off destination against frequent ones (affinity 4 in their hours, 0.5 otherwise), and the
    # affinities: a "work" destination draws trips in commute hours, "leisure" in the evening (agents/dna.py).
    one_off_destination_weight: float = 1.5
    destination_affinity_in_hours: float = 4.0
    destination_affinity_off_hours: float = 0.5
    # A frequent destination closer than this (degrees, ~500 m) to the rider is walked, not ridden.
    min_destination_deg: float = 0.005
    # A rider quoted above their surge limit tries again later with this probability (the rest take the bus);
    # the retry comes after an exponential wait (DemandParams.retry_after_min) plus a floor.
    surge_retry_p: float = 0.7
    surge_retry_floor_s: float = 60.0
    # A rider left without a driver tries again with this probability (the rest give up), after the same wait
    # with a shorter floor; after a driver cancellation every rider retries, sooner (mean 1.5 min).
    unfulfilled_retry_p: float = 0.5
    retry_floor_s: float = 30.0
    retry_after_driver_cancel_min: float = 1.5
    # Spontaneous cancellations (changed plans, a ride found otherwise) come within the free-cancellation window
    # of Uber/99 in São Paulo (2 min after the request; later ones cost a fee), before the car arrives.
    spontaneous_cancel_s_range: tuple[float, float] = (20.0, 120.0)
    # A late car is cancelled no sooner than this after the assignment (the rider sees the ETA first).
    late_car_cancel_min_s: float = 30.0
    # Riders who never show up; the driver cancels after the free waiting time (5 min at Uber/99).
    no_show_p: float = 0.01
    no_show_wait_s: float = 300.0
    # Politeness/punctuality (drives the stars drivers give): beta(12, 1.5), mean ~0.89; and how much a rider's
    # own generosity shifts the stars they give (uniform range, weighted by RatingParams.generosity_weight).
    behaviour_factor_alpha_beta: tuple[float, float] = (12.0, 1.5)
    rating_generosity_range: tuple[float, float] = (-0.3, 0.3)

    def __post_init__(self) -> None:
        _check(0.1 <= self.rides_per_week_median <= 1000, "rides_per_week_median must be 0.1..1000")
        _check(0.5 <= self.trip_km_median <= 30, "trip_km_median must be 0.5..30")
        _check(self.patience_min_range[0] > 0 and self.patience_min_range[0] <= self.patience_min_range[1], "bad patience range")
        _check(1.0 <= self.max_surge_range[0] <= self.max_surge_range[1], "bad max_surge_range")
        _check(2 <= self.frequent_destinations[0] <= self.frequent_destinations[1] <= 5, "frequent_destinations must be within 2..5")
        _check(abs(sum(p for _, p in self.payment_mix) - 1.0) < 1e-6, "payment_mix must sum to 1")
        _check(0 <= self.spontaneous_cancel_p < 0.5, "spontaneous_cancel_p must be 0..0.5")
        _check(0 <= self.late_car_cancel_p <= 1, "late_car_cancel_p must be 0..1")


@dataclass(frozen=True)
class DriverParams:
    """Driver DNA ranges and shift shapes. Hours online per active day 5–9 (Cebrap: 22–31 h/week over
    4.2 days); shifts centred on demand so supply follows it."""

    # Shifts follow the work demand brings (agents/shift_plan.py): supply at the commute peaks and at night
    # (0–5 h) is this share of what the same demand gets at other hours. Supply lags demand there (a shift
    # lasts hours, and few drivers choose the night: robbery risk after midnight is the first reason São
    # Paulo drivers give for avoiding it), which is why pickups take 20–40 % longer then (wait band).
    busy_hour_supply_factor: float = 0.85
    # Square-root staffing (agents/shift_plan.py): an hour's supply is its work plus this many times the square
    # root of its work (relative to the day's mean hour), so the quiet hours keep enough cars about.
    supply_slack: float = 0.3
    flexible_share: float = 0.15  # drivers whose start varies ±1.5 h day to day (others ±0.5 h)
    # Part-timers who drive the commute peaks only (two blocks a day); they make supply peak with demand
    # (shift centres themselves are spread over the demand curve evenly, see agents/dna.py).
    split_shift_share: float = 0.25
    hours_per_day_range: tuple[float, float] = (4.5, 8.0)  # mean ~6.2 h (Cebrap: 22–31 h/week over 4.2 days = 5.2–7.4 h)
    days_per_week_range: tuple[int, int] = (4, 6)  # ~71 % of drivers work on a given day
    acceptance_rate_range: tuple[float, float] = (0.7, 0.98)
    # Probability a driver cancels an accepted trip (band 3–8 % of accepted trips).
    cancel_tendency_range: tuple[float, float] = (0.01, 0.07)
    response_time_s_range: tuple[float, float] = (3.0, 12.0)
    min_rider_rating_range: tuple[float, float] = (4.3, 4.75)
    surge_acceptance_modifier_range: tuple[float, float] = (0.0, 0.25)  # extra acceptance when surged
    service_quality_alpha_beta: tuple[float, float] = (18.0, 1.6)  # beta: mean ~0.92, few poor drivers (≤ 3 % below 4.6)
    idle_dwell_min_range: tuple[float, float] = (3.0, 10.0)  # idle wait before deciding to reposition
    reposition_p: float = 0.55  # after a dwell, chance to drive toward demand instead of waiting again
    # Repositioning: a target zone within this radius drawn by the app's demand heatmap over
    # (1 + (d / gravity)^2), so drivers in the periphery serve their side of town instead of all converging on
    # the centre; drawing the driver's own zone means waiting there. Driven a little slower than traffic
    # (drivers cruise and look for requests).
    reposition_radius_km: float = 8.0
    reposition_gravity_km: float = 3.0
    reposition_speed_factor: float = 0.8
    # Drivers chase surge: a district's pull is multiplied by its surge multiplier to this power (the driver app
    # shows the surge map; drivers move toward surge, Chen & Sheldon 2016 on Uber), so supply flows to where
    # surge is and surge resolves.
    surge_chase_exponent: float = 2.0
    # A driver who dropped a rider off outside the service area drives straight back (no request is coming
    # there) at traffic speed.
    return_speed_factor: float = 1.0
    return_entry_candidates: int = 4  # points of the nearest district considered; the nearest is driven to
    # Day-to-day variation of a shift: its centre moves within ±spread/2 hours (fixed vs flexible drivers) and
    # its length by a factor low .. low + width (a driver's hours vary ±15 % around their habit).
    fixed_shift_spread_h: float = 1.0
    flexible_shift_spread_h: float = 3.0
    shift_hours_factor_low: float = 0.85
    shift_hours_factor_width: float = 0.3
    # A shift block with less than this left is skipped (nobody logs in for a few minutes).
    min_shift_left_min: float = 10.0
    # Split-shift drivers centre their two blocks on the AM and PM commute peaks (demand curve: 8 h, 18 h),
    # ± this jitter.
    split_shift_centres_h: tuple[float, float] = (8.0, 18.5)
    split_shift_jitter_h: float = 0.5
    # Offer acceptance: a driver takes low-rated riders (below their DNA minimum) and far pickups
    # (> far_pickup_s away) less often, and answers within their mean response time × a jitter.
    low_rating_acceptance_factor: float = 0.3
    far_pickup_acceptance_factor: float = 0.6
    far_pickup_s: float = 600.0
    response_jitter_range: tuple[float, float] = (0.4, 1.6)
    # A driver who cancels does so after this share of the pickup drive (they see the traffic, or a better trip).
    cancel_after_leg_share_range: tuple[float, float] = (0.05, 0.7)
    # The demand heatmap drivers see in the app: recent requests per zone with a prior of this many requests
    # spread by static demand weight (a zone with no recent request is not a desert), decayed by
    # `heat_decay` every `heat_decay_s` (half-life ~20 min).
    heat_prior_requests: float = 3.0
    heat_decay: float = 0.84
    heat_decay_s: int = 300

    def __post_init__(self) -> None:
        _check(0 < self.busy_hour_supply_factor <= 2, "busy_hour_supply_factor must be 0..2")
        _check(0 <= self.flexible_share <= 1, "flexible_share must be 0..1")
        _check(0 <= self.split_shift_share <= 1, "split_shift_share must be 0..1")
        _check(0 < self.hours_per_day_range[0] <= self.hours_per_day_range[1] <= 16, "bad hours_per_day_range")
        _check(1 <= self.days_per_week_range[0] <= self.days_per_week_range[1] <= 7, "bad days_per_week_range")
        _check(0 < self.acceptance_rate_range[0] <= self.acceptance_rate_range[1] <= 1, "bad acceptance_rate_range")
        _check(0 <= self.cancel_tendency_range[0] <= self.cancel_tendency_range[1] < 1, "bad cancel_tendency_range")
        _check(0 <= self.reposition_p <= 1, "reposition_p must be 0..1")


@dataclass(frozen=True)
class MatchingParams:
    """Dispatch: H3 res-9 ring search (cell spacing ~0.3 km), sequential offers with a timeout."""

    h3_resolution: int = 9
    max_ring_k: int = 20           # ~6 km search radius
    max_candidates: int = 4        # offers per search round
    offer_timeout_s: float = 15.0
    retry_search_s: float = 10.0   # wait before searching again when a round found nobody (dispatch re-batches every few s)
    give_up_s: float = 90.0        # the app stops searching and reports no driver available (unfulfilled 2–8 %)
    # Apps do not dispatch a car more than ~13 min away (the rider would rather wait for a nearer one or
    # give up): this bounds the pickup-wait p95 (band 10–15 min incl. matching) and feeds unfulfilled (2–8 %).
    max_pickup_eta_s: float = 720.0
    # The search starts with cars this close (estimated pickup) and widens by `pickup_eta_growth` seconds of
    # reach per second the rider has waited, up to the cap: a far car is sent only when no nearer one became
    # free meanwhile, which keeps pickups short at a few seconds' more matching.
    initial_pickup_eta_s: float = 360.0
    pickup_eta_growth: float = 6.0
    # Forward dispatch: a driver dropping a rider off within this many seconds can accept the next trip nearby
    # and drives there right after the drop-off (Uber's trip queue, 99's "corrida em sequência"); at the peaks
    # most cars are busy, and the nearest free car is often one about to drop off.
    forward_dispatch_s: float = 120.0
    eta_weight: float = 0.9
    rating_weight: float = 0.05
    acceptance_weight: float = 0.05
    # Candidate ETAs before routing: straight line × the grid router's mean detour (4/pi ≈ 1.27) × the traffic
    # detour factor, at the hour's street speed, plus a fixed overhead (the driver pulls out, finds the rider).
    eta_detour: float = 1.27
    eta_overhead_s: float = 30.0
    eta_scale_s: float = 900.0  # candidates' ETAs are scored on a 15-minute scale

    def __post_init__(self) -> None:
        _check(0 <= self.h3_resolution <= 15, "h3_resolution must be 0..15")
        _check(1 <= self.max_ring_k <= 40, "max_ring_k must be 1..40")
        _check(self.max_candidates >= 1, "max_candidates must be >= 1")
        _check(self.offer_timeout_s > 0 and self.retry_search_s > 0, "timeouts must be positive")
        _check(0 <= self.forward_dispatch_s <= 900, "forward_dispatch_s must be 0..900")
        _check(0 < self.initial_pickup_eta_s <= self.max_pickup_eta_s and self.pickup_eta_growth >= 0, "bad pickup ETA reach")


@dataclass(frozen=True)
class PricingParams:
    """UberX-style card in BRL: the 2015 launch card (R$3 + 1.43/km + 0.35/min) inflated to 2024–25 and
    fitted to observed quotes (~R$30–35 for 8 km): median ~R$25, ~R$3.6/km all-in, minimum R$9.
    Platform take 20–30 % (Uber Brazil, 99), mean 25 %."""

    base_brl: float = 4.0
    per_km_brl: float = 1.95
    per_min_brl: float = 0.42
    minimum_brl: float = 9.0
    take_rate_range: tuple[float, float] = (0.20, 0.30)
    surge_cap: float = 3.0
    # Card payments that fail at capture (declined cards; issuers report well under 1 % for small recurring
    # amounts).
    payment_failure_p: float = 0.004
    # With the wall-clock ("live") surge source, how often the simulation applies updates received from Kafka
    # (simulated seconds).
    live_surge_poll_s: int = 5

    def __post_init__(self) -> None:
        _check(min(self.base_brl, self.per_km_brl, self.per_min_brl, self.minimum_brl) >= 0, "prices must be >= 0")
        _check(0 <= self.take_rate_range[0] <= self.take_rate_range[1] < 1, "bad take_rate_range")
        _check(self.surge_cap >= 1, "surge_cap must be >= 1")


@dataclass(frozen=True)
class RatingParams:
    """Stars after a completed trip. Five stars with probability min(cap, base + per_quality × quality) (quality
    0..1 from the ratee's DNA), else 4/3/2/1 by the cumulative split below: mean ~4.87, 5-star ~90 % (bands
    4.75–4.92 and 85–93 %; Uber Brazil's average rider rating 4.88). Most riders rate (the app asks at the
    end of the trip), drivers almost always."""

    rider_rates_p: float = 0.75
    driver_rates_p: float = 0.9
    generosity_weight: float = 0.2  # how much a rider's generosity (RiderParams) adds to the driver's quality
    five_star_base: float = 0.5
    five_star_per_quality: float = 0.45
    five_star_cap: float = 0.99
    # Among ratings below five: the cumulative shares of 4, 3 and 2 stars (the rest are ones).
    lower_stars_cumulative: tuple[float, float, float] = (0.68, 0.9, 0.96)

    def __post_init__(self) -> None:
        _check(0 <= self.rider_rates_p <= 1 and 0 <= self.driver_rates_p <= 1, "rating probabilities must be 0..1")
        a, b, c = self.lower_stars_cumulative
        _check(0 <= a <= b <= c <= 1, "lower_stars_cumulative must rise within 0..1")


@dataclass(frozen=True)
class ProfileParams:
    """Profile changes (SCD2 history downstream): ~2 % of drivers and ~1 % of riders change contact data,
    vehicle or payment method per day (judgement: a phone or car change every few years); loyalty tiers by
    completed trips."""

    driver_change_p_per_day: float = 0.02
    rider_change_p_per_day: float = 0.01
    loyalty_tiers: tuple[tuple[int, str], ...] = ((40, "platinum"), (10, "gold"))

    def __post_init__(self) -> None:
        _check(0 <= self.driver_change_p_per_day <= 1 and 0 <= self.rider_change_p_per_day <= 1, "change rates must be 0..1")


@dataclass(frozen=True)
class GpsParams:
    """Phone GPS: a ping every 2 s while moving (band 1–4 s), every 30 s when parked; error sigma 7 m
    (band 5–10 m); 3 % outliers of 30–100 m in the dense core (urban canyons of Paulista, Faria Lima,
    Centro)."""

    moving_interval_s: int = 2
    idle_interval_s: int = 30
    rider_interval_s: int = 15
    noise_sigma_m: float = 7.0
    core_outlier_p: float = 0.03
    outlier_m_range: tuple[float, float] = (30.0, 100.0)
    # Reported speed of a moving car: the leg's mean speed × low .. low + width (the speedometer varies along a
    # street); reported accuracy: sigma × low .. low + width (phones report their own 1-sigma estimate).
    speed_jitter_low: float = 0.85
    speed_jitter_width: float = 0.3
    accuracy_low: float = 0.7
    accuracy_width: float = 0.6

    def __post_init__(self) -> None:
        _check(1 <= self.moving_interval_s <= 60, "moving_interval_s must be 1..60")
        _check(self.moving_interval_s <= self.idle_interval_s <= 600, "idle_interval_s must be moving..600")
        _check(1 <= self.rider_interval_s <= 600, "rider_interval_s must be 1..600")
        _check(0 <= self.noise_sigma_m <= 100 and 0 <= self.core_outlier_p < 0.5, "bad GPS noise")


@dataclass(frozen=True)
class ServiceAreaParams:
    """Where a world operates (agents_sim/world/service_area.py): `zones` is "auto" (density-preserving:
    the contiguous highest-demand districts around the centre holding the fleet at `drivers_per_km2`,
    at least `min_km2`), "all" (the whole city), or a tuple of district ids / names / siglas."""

    zones: str | tuple[str, ...] = "auto"
    # A world is a sample of the city and keeps the fleet density its parameters are calibrated at: the
    # defaults' 400 drivers on the 60 km² floor below, ~6.7 drivers per km². A larger fleet covers more of the
    # city at that density instead of crowding the same districts, so pickup waits, matching and surge do not
    # depend on the sample's size. (Packed into the same 60 km², 1,000 drivers / 15,000 riders had pickups
    # 30 % shorter and under 2 % unfulfilled, outside their bands, on every seed.) The real market is far
    # denser (~100 k active driver-days on ~190 km², ~500 per km²): no sample could reach it and still hold
    # a trip, which is why the calibration is made at the sample's own density.
    drivers_per_km2: float = 400 / 60
    # Floor: the area must still hold a median trip (straight-line median 4.5 km) from its middle. 60 km²
    # (12 central districts, Sé to Pinheiros, Perdizes to Moema: a disc of ~4.4 km radius holding ~70 % of
    # the city's demand weight) does; longer trips leave it (destination bias below) and the drivers come
    # back. Fleets below 400 drivers are sparser than the calibration.
    min_km2: float = 60.0
    # A destination outside the area is this much less likely than one inside (riders leave the expanded
    # centre less often than they cross it; a driver who leaves comes back to the area empty).
    outside_destination_weight: float = 0.15

    def __post_init__(self) -> None:
        if isinstance(self.zones, str):
            _check(self.zones in ("auto", "all"), f"service area {self.zones!r}: use 'auto', 'all' or a tuple of districts")
        else:
            _check(len(self.zones) > 0 and all(isinstance(z, str) for z in self.zones), "service area: list districts")
        _check(self.drivers_per_km2 > 0, "drivers_per_km2 must be positive")
        _check(0 < self.min_km2 <= 2000, "min_km2 must be 0..2000")
        _check(0 <= self.outside_destination_weight <= 1, "outside_destination_weight must be 0..1")


@dataclass(frozen=True)
class SimConfig:
    """One simulation: seed, population, start instant and the parameter groups."""

    seed: int = 42
    drivers: int = 50
    riders: int = 500
    start: str = DEFAULT_START
    session_id: str | None = None  # default derived from the seed (deterministic output)
    traffic: TrafficParams = field(default_factory=TrafficParams)
    demand: DemandParams = field(default_factory=DemandParams)
    rider: RiderParams = field(default_factory=RiderParams)
    driver: DriverParams = field(default_factory=DriverParams)
    matching: MatchingParams = field(default_factory=MatchingParams)
    pricing: PricingParams = field(default_factory=PricingParams)
    gps: GpsParams = field(default_factory=GpsParams)
    rating: RatingParams = field(default_factory=RatingParams)
    profiles: ProfileParams = field(default_factory=ProfileParams)
    service_area: ServiceAreaParams = field(default_factory=ServiceAreaParams)
    max_drivers: int = 20_000
    max_riders: int = 200_000

    def __post_init__(self) -> None:
        _check(0 <= self.seed < 2**63, "seed must be 0..2^63-1")
        _check(0 <= self.drivers <= self.max_drivers, f"drivers must be 0..{self.max_drivers}")
        _check(0 <= self.riders <= self.max_riders, f"riders must be 0..{self.max_riders}")
        parse_start(self.start)

    @property
    def start_ms(self) -> int:
        return parse_start(self.start)

    @property
    def resolved_session_id(self) -> str:
        return self.session_id or f"sim-{self.seed}"

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with some fields changed; unknown names raise ConfigError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConfigError(f"unknown simulation parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        return dataclasses.replace(self, **changes)
