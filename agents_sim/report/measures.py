"""Every KPI of docs/calibration.md as a formula over the folded events — the numbers an analyst would get.

Each value is a plain float (shares as fractions) keyed by the metric names of bands.py. A value
that the data cannot give is None, with the reason next to it; the band table then shows "n/a".
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from agents_sim.report.fold import SAO_PAULO, KpiAccumulator
from agents_sim.report.gps_noise import GpsQuality

__all__ = ["DEFAULT_CITY_ACTIVE_DRIVERS", "FULL_DAY_HOURS", "SURGE_MODES", "Measurements", "measure", "surge_mode_of"]

# Drivers active on a weekday in the whole city (judgement): the regulator's ~29 M trips/month (≈1 M/day)
# at 1.5–2.5 trips per online hour and 5–9 h online (the productivity band) need 50–130 k driver-days;
# Cebrap's 4.2 working days a week over ~170 k registered drivers of the capital gives ≈100 k.
DEFAULT_CITY_ACTIVE_DRIVERS = 100_000
FULL_DAY_HOURS = 20.0  # daily KPIs (city volume, demand shape, hours per driver-day) need about a whole simulated day
AM_WINDOW = range(5, 12)  # where the morning peak is looked for
PM_WINDOW = range(15, 22)
NIGHT_HOURS = range(0, 6)  # "0–6 h" of the demand band
SPEED_WINDOWS = {"speed.h07_10_kmh": range(7, 10), "speed.h10_17_kmh": range(10, 17),
                 "speed.h17_20_kmh": range(17, 20), "speed.h00_05_kmh": range(0, 5)}
WAIT_BUSY_HOURS = frozenset([*range(0, 5), *range(7, 10), *range(17, 20)])  # "peaks and 0–5 h" of the wait band
DRIVER_RATING_FLOOR = 4.6
# What each surge mode of a run (simulation_control `started` detail) means for its surge KPIs.
SURGE_MODES = {
    "lockstep": "lockstep closed loop through Kafka: the surge topology's multipliers applied step by step (replays byte for byte)",
    "in-process": "in-process closed loop: the surge topology's engine in the simulation's process (the multipliers of lockstep)",
    "live": "live: surge updates applied as they arrived in wall time (depends on the workers' speed, not replayable)",
    "off": "surge off: 1.0 everywhere",
    "static": "fixed multipliers given to the simulation (tests)",
    "unknown": "not recorded (no simulation_control 'started' event naming it)",
}
MIN_RATED_DRIVERS = 10


@dataclass(frozen=True)
class Measurements:
    metrics: dict[str, float | None]
    reasons: dict[str, str]
    series: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


class _Values:
    def __init__(self) -> None:
        self.metrics: dict[str, float | None] = {}
        self.reasons: dict[str, str] = {}

    def put(self, metric: str, value: float | None, reason: str = "") -> None:
        self.metrics[metric] = value
        if value is None:
            self.reasons[metric] = reason or "no data"


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def measure(acc: KpiAccumulator, *, city_active_drivers: int = DEFAULT_CITY_ACTIVE_DRIVERS) -> Measurements:
    out = _Values()
    full_day = acc.span_hours >= FULL_DAY_HOURS
    short = f"the run covers {acc.span_hours:.1f} h of simulated time; this needs a whole day"
    _city(acc, out, full_day, short, city_active_drivers)
    _trips(acc, out)
    _speeds(acc, out)
    _waits(acc, out)
    _outcomes(acc, out)
    _drivers(acc, out, full_day, short)
    _demand(acc, out, full_day, short)
    _money(acc, out)
    _ratings(acc, out)
    gps = acc.gps.result()
    _gps(gps, out)
    return Measurements(out.metrics, out.reasons, _series(acc), _facts(acc, gps, city_active_drivers))


def _city(acc: KpiAccumulator, out: _Values, full_day: bool, short: str, city_active_drivers: int) -> None:
    # Whole-city volume: completed trips per driver-day of the run times the city's active drivers per day
    # (the run is a sample of the city's fleet: same demand per driver, fewer drivers).
    if not full_day:
        out.put("city.trips_per_day", None, short)
    elif not acc.driver_days():
        out.put("city.trips_per_day", None, "no driver went online (no driver_status events)")
    else:
        out.put("city.trips_per_day", acc.completed / acc.driver_days() * city_active_drivers)
    # Peak-hour share: completed trips of the busiest local request hour over all completed trips.
    peak = _ratio(max(acc.completed_by_hour), acc.completed)
    out.put("city.peak_hour_share", peak if full_day else None, short if peak is not None else "no completed trip")


def _trips(acc: KpiAccumulator, out: _Values) -> None:
    # Distance: route_distance_km of completed trips. Duration: completed − in_transit event time.
    none = "no completed trip"
    out.put("distance.mean_km", acc.distance_km.mean, none)
    out.put("distance.median_km", acc.distance_km.quantile(0.5), none)
    out.put("distance.p95_km", acc.distance_km.quantile(0.95), none)
    for name, q in (("mean", None), ("median", 0.5), ("p95", 0.95)):
        seconds = acc.duration_s.mean if q is None else acc.duration_s.quantile(q)
        out.put(f"duration.{name}_min", seconds / 60.0 if seconds is not None else None, none)


def _window_speed(acc: KpiAccumulator, hours: range) -> float | None:
    """Aggregate in-trip speed of trips that started in `hours`: Σ km / Σ in-trip hours."""
    return _ratio(sum(acc.trip_km_by_hour[h] for h in hours), sum(acc.trip_h_by_hour[h] for h in hours))


def _speeds(acc: KpiAccumulator, out: _Values) -> None:
    for metric, hours in SPEED_WINDOWS.items():
        out.put(metric, _window_speed(acc, hours), f"no completed trip started in {hours.start}–{hours.stop} h")
    # Congestion, per trip: how much longer the average trip takes than at free flow = the mean pace (in-trip
    # time per km) of all trips over the mean pace of trips starting 0–5 h (free flow), minus 1.
    night = SPEED_WINDOWS["speed.h00_05_kmh"]
    free_flow = _ratio(sum(acc.pace_sum_by_hour[h] for h in night), sum(acc.pace_count_by_hour[h] for h in night))
    day = _ratio(sum(acc.pace_sum_by_hour), sum(acc.pace_count_by_hour))
    extra = day / free_flow - 1.0 if free_flow and day else None
    out.put("traffic.extra_time_share", extra, "needs completed trips at night (free flow) and over the day")


def _waits(acc: KpiAccumulator, out: _Values) -> None:
    # Pickup wait: at_pickup − requested event time, over trips whose driver arrived.
    none = "no driver reached a pickup"
    for name, q in (("mean", None), ("median", 0.5), ("p95", 0.95)):
        seconds = acc.wait_s.mean if q is None else acc.wait_s.quantile(q)
        out.put(f"wait.{name}_min", seconds / 60.0 if seconds is not None else None, none)
    # Uplift: mean wait of requests made at peaks and 0–5 h over the mean wait of the other hours, minus 1.
    busy = _ratio(sum(acc.wait_sum_s_by_hour[h] for h in WAIT_BUSY_HOURS), sum(acc.wait_count_by_hour[h] for h in WAIT_BUSY_HOURS))
    calm_hours = [h for h in range(24) if h not in WAIT_BUSY_HOURS]
    calm = _ratio(sum(acc.wait_sum_s_by_hour[h] for h in calm_hours), sum(acc.wait_count_by_hour[h] for h in calm_hours))
    out.put("wait.peak_night_uplift", busy / calm - 1.0 if busy is not None and calm else None,
            "needs pickups both at peaks/night and at other hours")


def _outcomes(acc: KpiAccumulator, out: _Values) -> None:
    # Shares of closed requests (completed, cancelled or no driver available); requests still open when
    # the data ends are censored and left out.
    closed = acc.closed
    none = "no request reached an outcome"
    # Matching: of the requests that got an accepted offer, the share accepted within 60 s of the request
    # (measured among matched requests so that it cannot contradict the 2–8 % unfulfilled band).
    out.put("matching.assigned_within_60s_share", _ratio(acc.matched_within_60s, acc.matched), "no request was matched")
    # Unfulfilled: requests that ended without any driver ever assigned (no driver, or given up before a match).
    out.put("matching.unfulfilled_share", _ratio(acc.unfulfilled, closed), none)
    out.put("cancel.rider_share", _ratio(acc.rider_cancels, closed), none)
    out.put("cancel.rider_before_pickup_share", _ratio(acc.rider_cancels_before_pickup, acc.rider_cancels), "no rider cancelled")
    # Driver cancellations after accepting, over the requests that had an accepted driver.
    out.put("cancel.driver_after_accept_share", _ratio(acc.driver_cancels_after_accept, acc.closed_assigned), "no request was matched")
    out.put("cancel.completion_share", _ratio(acc.completed, closed), none)


def _drivers(acc: KpiAccumulator, out: _Values, full_day: bool, short: str) -> None:
    # Time split: time in each driver status while online (available/repositioning = idle), from driver_status changes.
    online = acc.online_ms_at_end()
    total_ms = sum(online.values())
    none = "no online driver time (no driver_status events)"
    for bucket in ("with_rider", "to_pickup", "idle"):
        out.put(f"time_split.{bucket}_share", _ratio(online[bucket], total_ms), none)
    online_h = total_ms / 3_600_000
    out.put("productivity.trips_per_online_hour", _ratio(acc.completed, online_h), none)
    per_day = _ratio(online_h, acc.driver_days())
    out.put("productivity.online_hours_per_driver_day", per_day if full_day else None, short if per_day is not None else none)


def _demand(acc: KpiAccumulator, out: _Values, full_day: bool, short: str) -> None:
    # Requests by local hour of request: the busiest hour of the morning and of the evening window,
    # their ratio, and the share of requests made 0–6 h.
    by_hour = acc.requests_by_hour
    if not full_day or not acc.requests:
        reason = short if acc.requests else "no request"
        for metric in ("demand.am_peak_hour", "demand.pm_peak_hour", "demand.pm_over_am", "demand.night_share"):
            out.put(metric, None, reason)
    else:
        am = max(AM_WINDOW, key=lambda h: by_hour[h])
        pm = max(PM_WINDOW, key=lambda h: by_hour[h])
        out.put("demand.am_peak_hour", float(am))
        out.put("demand.pm_peak_hour", float(pm))
        out.put("demand.pm_over_am", _ratio(by_hour[pm], by_hour[am]), "no request in the morning")
        out.put("demand.night_share", sum(by_hour[h] for h in NIGHT_HOURS) / acc.requests)
    nights, days = _covered_nights_and_days(acc)
    # Fri/Sat nights: 1 when the night (20–04 h) with most requests starts on a Friday or Saturday.
    night_counts = {d: acc.requests_by_night[d] for d in nights}
    weekend_nights = [d for d in night_counts if d.weekday() in (4, 5)]
    if weekend_nights and len(weekend_nights) < len(night_counts):
        heaviest = max(night_counts, key=lambda d: night_counts[d])
        out.put("demand.fri_sat_night_heaviest", 1.0 if heaviest.weekday() in (4, 5) else 0.0)
    else:
        out.put("demand.fri_sat_night_heaviest", None, "needs whole nights of a Fri/Sat and of another day")
    # Weekend uplift: mean requests of a whole Saturday/Sunday over a whole weekday, minus 1.
    weekend = [acc.requests_by_date[d] for d in days if d.weekday() >= 5]
    weekday = [acc.requests_by_date[d] for d in days if d.weekday() < 5]
    uplift = (sum(weekend) / len(weekend)) / (sum(weekday) / len(weekday)) - 1.0 if weekend and weekday and sum(weekday) else None
    out.put("demand.weekend_uplift", uplift, "needs a whole weekend day and a whole weekday")


def _covered_nights_and_days(acc: KpiAccumulator) -> tuple[list[dt.date], list[dt.date]]:
    """Local dates whose night (20:00–04:00) and whose whole day lie inside the data's time span."""
    if acc.first_ms is None or acc.last_ms is None:
        return [], []
    start = dt.datetime.fromtimestamp(acc.first_ms / 1000, tz=SAO_PAULO)
    end = dt.datetime.fromtimestamp(acc.last_ms / 1000, tz=SAO_PAULO)
    nights, days = [], []
    day = start.date()
    while day <= end.date():
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=SAO_PAULO)
        if start <= midnight + dt.timedelta(hours=20) and midnight + dt.timedelta(hours=28) <= end:
            nights.append(day)
        if start <= midnight and midnight + dt.timedelta(days=1) <= end + dt.timedelta(minutes=1):
            days.append(day)
        day += dt.timedelta(days=1)
    return nights, days


def surge_mode_of(acc: KpiAccumulator) -> str:
    """The surge mode that produced the events: one of SURGE_MODES, or "mixed: a, b" for several sessions."""
    modes = sorted(acc.surge_modes) or ["unknown"]
    return modes[0] if len(modes) == 1 else "mixed: " + ", ".join(modes)


def _money(acc: KpiAccumulator, out: _Values) -> None:
    # Surge, over completed trips: share with a multiplier above 1.0, mean multiplier of those, p99 and max of all.
    if acc.surged == 0 and acc.events_by_schema["surge_update"] == 0:
        mode = surge_mode_of(acc)
        reason = ("the run had surge off (--surge off)" if mode == "off" else
                  "no surge in the run: no surge_update events and every trip at 1.0× (is the surge topology running?)")
        for metric in ("surge.surged_share", "surge.mean_when_surged", "surge.p99", "surge.max"):
            out.put(metric, None, reason)
    else:
        out.put("surge.surged_share", _ratio(acc.surged, acc.completed), "no completed trip")
        out.put("surge.mean_when_surged", _ratio(acc.surged_multiplier_sum, acc.surged), "no surged trip")
        out.put("surge.p99", acc.surge.quantile(0.99), "no completed trip")
        out.put("surge.max", acc.surge.maximum if acc.surge.count else None, "no completed trip")
    # Fares: fare_brl of completed trips; per km = Σ fares / Σ km (all-in, surge included); minimum = smallest fare.
    none = "no completed trip with a fare"
    out.put("fare.median_brl", acc.fare_brl.quantile(0.5), none)
    out.put("fare.mean_brl", acc.fare_brl.mean, none)
    out.put("fare.per_km_brl", _ratio(acc.fare_with_km_brl, acc.km_with_fare), none)
    out.put("fare.min_brl", acc.fare_brl.minimum if acc.fare_brl.count else None, none)
    # Platform take: mean over captured payments of platform_fee_brl / fare_brl.
    out.put("take.mean_share", _ratio(acc.take_share_sum, acc.take_count), "no captured payment")


def _ratings(acc: KpiAccumulator, out: _Values) -> None:
    # Mean stars and 5-star share over all ratings (both directions).
    out.put("ratings.mean", _ratio(acc.rating_stars_sum, acc.ratings), "no rating")
    out.put("ratings.five_star_share", _ratio(acc.five_stars, acc.ratings), "no rating")
    out.put("ratings.drivers_below_4_6_share", _drivers_below_floor(acc),
            f"needs ≥ {MIN_RATED_DRIVERS} drivers with ≥ 2 ratings from riders")


def _drivers_below_floor(acc: KpiAccumulator) -> float | None:
    """Share of drivers whose rating (their long-run mean) is below 4.6, by empirical Bayes.

    A platform shows the mean of a driver's last ~500 ratings; a day gives each driver a handful, whose
    mean is far noisier, so counting drivers whose day-mean is < 4.6 would overstate the share. Instead:
    between-driver variance τ² = variance of the drivers' day-means − mean over drivers of s²ᵢ/nᵢ (each
    term an unbiased estimate of that driver's noise; a pooled s² would assume every driver is equally
    consistent, which the 5-star-heavy data are not), true means taken as normal(m, τ²), share = Φ((4.6 − m) / τ).
    """
    rated = [(n, mean, var) for n, mean, var in acc.drivers_rated() if n >= 2]
    if len(rated) < MIN_RATED_DRIVERS:
        return None
    means = [mean for _, mean, _ in rated]
    centre = sum(means) / len(means)
    spread = sum((m - centre) ** 2 for m in means) / (len(means) - 1)
    noise = sum(var / n for n, _, var in rated) / len(rated)
    tau_sq = spread - noise
    if tau_sq <= 0:
        return 1.0 if centre < DRIVER_RATING_FLOOR else 0.0
    return 0.5 * (1.0 + math.erf((DRIVER_RATING_FLOOR - centre) / math.sqrt(2.0 * tau_sq)))


def _gps(quality: GpsQuality, out: _Values) -> None:
    none = "no gps_ping events"
    out.put("gps.interval_median_s", quality.moving_interval_median_s, none if not quality.pings else "no moving entity pinged twice")
    out.put("gps.sigma_m", quality.sigma_m, none if not quality.pings else "no straight, steady stretch of ≥ 3 pings")
    out.put("gps.core_outlier_share", quality.core_outlier_share,
            none if not quality.pings else "no checkable ping inside the dense core (Paulista, Faria Lima, Centro)")


def _series(acc: KpiAccumulator) -> dict[str, Any]:
    online = acc.online_ms_at_end()
    total_ms = sum(online.values())
    return {
        "requests_by_hour": list(acc.requests_by_hour),
        "completed_by_hour": list(acc.completed_by_hour),
        "speed_by_hour_kmh": [_ratio(acc.trip_km_by_hour[h], acc.trip_h_by_hour[h]) for h in range(24)],
        "wait_by_hour_min": [_ratio(acc.wait_sum_s_by_hour[h] / 60.0, acc.wait_count_by_hour[h]) for h in range(24)],
        "wait_histogram_min": [(left / 60.0, n) for left, n in acc.wait_s.rebinned(60.0, 30 * 60.0)],
        "fare_histogram_brl": acc.fare_brl.rebinned(5.0, 150.0),
        "time_split_share": {bucket: _ratio(ms, total_ms) for bucket, ms in online.items()},
    }


def _facts(acc: KpiAccumulator, quality: GpsQuality, city_active_drivers: int) -> dict[str, Any]:
    return {
        "events": sum(acc.events_by_schema.values()),
        "surge_mode": surge_mode_of(acc),
        "events_by_schema": dict(sorted(acc.events_by_schema.items())),
        "first_event_ms": acc.first_ms,
        "last_event_ms": acc.last_ms,
        "span_hours": round(acc.span_hours, 3),
        "requests": acc.requests,
        "completed": acc.completed,
        "closed_requests": acc.closed,
        "open_requests_at_end": acc.open_trips,
        "orphan_trip_events": acc.orphan_trip_events,
        "drivers_online": acc.drivers_online,
        "driver_days": acc.driver_days(),
        "city_active_drivers_assumed": city_active_drivers,
        "gps_pings": quality.pings,
        "gps_residuals": quality.residuals,
        "gps_core_pings_checked": quality.core_pings_checked,
        "gps_core_outliers": quality.core_outliers,
        "gps_outlier_threshold_m": quality.outlier_threshold_m,
        "gps_interval_p90_s": quality.moving_interval_p90_s,
    }
