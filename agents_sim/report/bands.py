"""The 16 KPI bands of docs/calibration.md as data: one row per KPI, one check per number in its band.

A row is in band when every required check has a value inside [lo, hi]. An optional check (one the
data of a single simulated weekday cannot show, such as the weekend uplift) is judged only when the
run produced its value. Values are in the units shown (shares as fractions, shown as %).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BANDS", "Band", "Check"]


@dataclass(frozen=True)
class Check:
    metric: str
    label: str
    lo: float | None
    hi: float | None
    unit: str = ""
    optional: bool = False

    @property
    def is_share(self) -> bool:
        return self.unit == "%"

    def holds(self, value: float) -> bool:
        return (self.lo is None or value >= self.lo - 1e-9) and (self.hi is None or value <= self.hi + 1e-9)


@dataclass(frozen=True)
class Band:
    key: str
    title: str
    checks: tuple[Check, ...]
    basis: str


def _c(metric: str, label: str, lo: float | None, hi: float | None, unit: str = "", *, optional: bool = False) -> Check:
    return Check(metric, label, lo, hi, unit, optional)


BANDS: tuple[Band, ...] = (
    Band("city_trips", "completed trips, whole city", (
        _c("city.trips_per_day", "trips/day", 800_000, 1_200_000),
        _c("city.peak_hour_share", "peak hour", 0.06, 0.08, "%"),
    ), "São Paulo city data to the municipal inquiry (29 M/month at the 2019 peak); NYC peak-hour share 6 %"),
    Band("trip_distance", "trip distance", (
        _c("distance.mean_km", "mean", 6, 9, "km"),
        _c("distance.median_km", "median", 4.5, 7, "km"),
        _c("distance.p95_km", "p95", 20, 30, "km"),
    ), "NYC Uber/Lyft 2025 mean 7.0 km; Toronto median 6.9 km; 99 moto SP 6 km"),
    Band("trip_duration", "trip duration", (
        _c("duration.mean_min", "mean", 15, 25, "min"),
        _c("duration.median_min", "median", 13, 20, "min"),
        _c("duration.p95_min", "p95", 40, 50, "min"),
    ), "NYC 17.9 min; Toronto 14 min; CET speeds"),
    Band("speed_by_hour", "in-trip speed by hour", (
        _c("speed.h07_10_kmh", "7–10 h", 18, 25, "km/h"),
        _c("speed.h10_17_kmh", "10–17 h", 20, 28, "km/h"),
        _c("speed.h17_20_kmh", "17–20 h", 14, 20, "km/h"),
        _c("speed.h00_05_kmh", "0–5 h", 30, 40, "km/h"),
    ), "CET peak speeds 25.5 (AM) / 20.9 (PM) km/h; arterials PM 15–16 km/h"),
    Band("pickup_wait", "pickup wait (request → driver arrives)", (
        _c("wait.median_min", "median", 4, 6, "min"),
        _c("wait.mean_min", "mean", 4.5, 7, "min"),
        _c("wait.p95_min", "p95", 10, 15, "min"),
        _c("wait.peak_night_uplift", "peaks & 0–5 h vs rest", 0.20, 0.40, "%"),
    ), "NYC 2025 mean 4.67 / p95 10.3; Toronto median 4; London 3.1"),
    Band("matching", "matching", (
        _c("matching.assigned_within_60s_share", "matched ≤ 60 s", 0.95, None, "%"),
        _c("matching.unfulfilled_share", "unfulfilled", 0.02, 0.08, "%"),
    ), "Uber surge-outage study (J)"),
    Band("cancellations", "cancellations", (
        _c("cancel.rider_share", "rider", 0.05, 0.10, "%"),
        _c("cancel.rider_before_pickup_share", "rider cancels before pickup", 0.5, None, "%"),
        _c("cancel.driver_after_accept_share", "driver after accept", 0.03, 0.08, "%"),
        _c("cancel.completion_share", "completion", 0.82, 0.92, "%"),
    ), "fee windows in SP; 2021 driver-cancellation episode (J)"),
    Band("driver_time_split", "driver time split while online", (
        _c("time_split.with_rider_share", "with rider", 0.50, 0.62, "%"),
        _c("time_split.to_pickup_share", "to pickup", 0.09, 0.15, "%"),
        _c("time_split.idle_share", "idle/cruising", 0.25, 0.40, "%"),
    ), "Cramer & Krueger; Fehr & Peers; NYC TLC; Toronto"),
    Band("productivity", "productivity", (
        _c("productivity.trips_per_online_hour", "trips/online h", 1.5, 2.5),
        _c("productivity.online_hours_per_driver_day", "online h/driver-day", 5, 9, "h"),
    ), "Cebrap/platform data for Brazil (22–31 h/week over 4.2 days)"),
    Band("demand_shape", "demand shape", (
        _c("demand.am_peak_hour", "AM peak hour", 7, 8, "h"),
        _c("demand.pm_peak_hour", "PM peak hour", 17, 19, "h"),
        _c("demand.pm_over_am", "PM/AM peak", 1.0, None, "×"),
        _c("demand.night_share", "0–6 h share", 0.08, 0.14, "%"),
        _c("demand.fri_sat_night_heaviest", "Fri/Sat night heaviest", 1, 1, "bool", optional=True),
        _c("demand.weekend_uplift", "weekend day", 0.10, 0.20, "%", optional=True),
    ), "Metrô OD survey 2017; NYC; Chicago"),
    Band("surge", "surge", (
        _c("surge.surged_share", "trips surged", 0.10, 0.30, "%"),
        _c("surge.mean_when_surged", "mean when surged", 1.2, 1.6, "×"),
        _c("surge.p99", "p99", None, 2.5, "×"),
        _c("surge.max", "max", None, 3.0, "×"),
    ), "academic surge studies; SP spikes 1.25–2.7× (J)"),
    Band("fares", "fares (BRL)", (
        _c("fare.median_brl", "median", 20, 35, "R$"),
        _c("fare.mean_brl", "mean", 25, 40, "R$"),
        _c("fare.per_km_brl", "per km", 3.0, 4.5, "R$"),
        _c("fare.min_brl", "minimum", 8, 10, "R$"),
    ), "observed SP quotes (~R$30–35 for 8 km); 2015 launch card R$3 + 1.43/km + 0.35/min, inflated"),
    Band("platform_take", "platform take", (
        _c("take.mean_share", "mean", 0.20, 0.30, "%"),
    ), "Uber Brazil, 99 (15–35 %), UK study median 29 %"),
    Band("ratings", "ratings", (
        _c("ratings.mean", "mean", 4.75, 4.92, "★"),
        _c("ratings.five_star_share", "5-star", 0.85, 0.93, "%"),
        _c("ratings.drivers_below_4_6_share", "drivers < 4.6", None, 0.03, "%"),
    ), "Uber Brazil average rider rating 4.88"),
    Band("gps", "GPS stream", (
        _c("gps.interval_median_s", "interval (moving)", 1, 4, "s"),
        _c("gps.sigma_m", "error σ", 5, 10, "m"),
        _c("gps.core_outlier_share", "core outliers", 0.01, 0.05, "%"),
    ), "Grab trajectory dataset (1 s); urban phone GPS studies; Uber engineering on urban canyons"),
    Band("traffic", "traffic vs free flow", (
        _c("traffic.extra_time_share", "longer than free flow", 0.31, 0.40, "%"),
    ), "Fipe/USP index on Uber Movement data 2016–18"),
)
