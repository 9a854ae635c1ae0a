"""Handcrafted event streams for the KPI report tests: schema-valid records whose KPIs are computed by hand."""

from __future__ import annotations

from itertools import count
from typing import Any

from agents_sim.report import compute_kpis
from agents_sim.report.kpis import KpiReport

MIDNIGHT_MS = 1_772_420_400_000  # 2026-03-02 00:00 in São Paulo (UTC-3), a Monday
HOUR = 3_600_000
MINUTE = 60_000
SECOND = 1_000


def at(hour: float) -> int:
    return MIDNIGHT_MS + int(hour * HOUR)


class Run:
    """A handcrafted stream of schema-valid events (records as the sim's sinks write them)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._ids = count(1)

    def _base(self, t: int, correlation: str) -> dict[str, Any]:
        return {"event_id": f"e{next(self._ids)}", "event_time": t, "session_id": "s", "correlation_id": correlation,
                "causation_id": None}

    def trip_event(self, trip_id: str, kind: str, t: int, **fields: Any) -> None:
        record = self._base(t, trip_id) | {
            "event_type": kind, "trip_id": trip_id, "rider_id": "r1", "driver_id": fields.pop("driver_id", None),
            "pickup_zone_id": "1", "dropoff_zone_id": "2", "pickup_lat": -23.56, "pickup_lon": -46.65,
            "dropoff_lat": -23.58, "dropoff_lon": -46.68, "surge_multiplier": fields.pop("surge", 1.0),
            "fare_estimate_brl": 25.0, "fare_brl": None, "route_distance_km": None, "route_duration_s": None,
            "route_polyline": None, "offer_sequence": None, "eta_seconds": None, "cancelled_by": None, "cancel_reason": None,
        }
        record.update(fields)
        self.events.append(("trip_event", record))

    def trip(self, trip_id: str, requested: int, *, assign_s: float = 20, wait_s: float = 300, board_s: float = 60,
             ride_s: float = 900, km: float = 6.0, fare: float = 30.0, surge: float = 1.0) -> int:
        """A completed trip; returns its completion time."""
        ev = self.trip_event
        ev(trip_id, "requested", requested, surge=surge)
        ev(trip_id, "offer_sent", requested + 5 * SECOND, driver_id="d1", surge=surge)
        ev(trip_id, "driver_assigned", requested + int(assign_s * SECOND), driver_id="d1", surge=surge)
        ev(trip_id, "en_route_pickup", requested + int(assign_s * SECOND), driver_id="d1", surge=surge)
        ev(trip_id, "at_pickup", requested + int(wait_s * SECOND), driver_id="d1", surge=surge)
        start = requested + int((wait_s + board_s) * SECOND)
        ev(trip_id, "in_transit", start, driver_id="d1", surge=surge)
        end = start + int(ride_s * SECOND)
        ev(trip_id, "completed", end, driver_id="d1", surge=surge, fare_brl=fare, route_distance_km=km, route_duration_s=ride_s)
        return end

    def driver_status(self, driver: str, t: int, previous: str, new: str) -> None:
        self.events.append(("driver_status", self._base(t, driver) | {
            "driver_id": driver, "previous_status": previous, "new_status": new, "reason": "test", "zone_id": "1",
            "driver_lat": -23.56, "driver_lon": -46.65, "trip_id": None}))

    def shift(self, driver: str, start: int, segments: list[tuple[str, float]]) -> int:
        """Driver goes online at `start` and walks through (status, hours) segments, then goes offline."""
        previous, t = "offline", start
        for status, hours in segments:
            self.driver_status(driver, t, previous, status)
            previous, t = status, t + int(hours * HOUR)
        self.driver_status(driver, t, previous, "offline")
        return t

    def payment(self, trip_id: str, t: int, fare: float, fee: float, status: str = "captured") -> None:
        self.events.append(("payment", self._base(t, trip_id) | {
            "payment_id": f"p-{trip_id}", "trip_id": trip_id, "rider_id": "r1", "driver_id": "d1", "payment_method": "pix",
            "fare_brl": fare, "platform_fee_brl": fee, "driver_payout_brl": fare - fee, "surge_multiplier": 1.0,
            "status": status}))

    def rating(self, t: int, stars: int, *, rater_type: str = "rider", ratee: str = "d1") -> None:
        self.events.append(("rating", self._base(t, "trip") | {
            "rating_id": f"g{next(self._ids)}", "trip_id": "trip", "rater_type": rater_type, "rater_id": "x",
            "ratee_id": ratee, "stars": stars}))

    def control(self, t: int, action: str, detail: str | None = None) -> None:
        self.events.append(("simulation_control", self._base(t, "s") | {
            "action": action, "speed": None, "drivers": 1, "riders": 1, "seed": 1, "detail": detail}))

    def whole_day(self, surge_mode: str = "in-process") -> None:
        """Start and stop markers at midnight and 24 h later, so the run covers a whole simulated day."""
        self.control(at(0), "started", f"surge={surge_mode} step_ms=60000")
        self.control(at(24), "stopped")

    def report(self, **options: Any) -> KpiReport:
        return compute_kpis(self.events, **options)


def busy_day() -> Run:
    """A whole day with a little of everything: shifts, trips at every hour, surge, payments, ratings."""
    run = Run()
    run.whole_day()
    run.shift("d1", at(5), [("available", 2), ("en_route_pickup", 1), ("on_trip", 5)])
    for hour in range(24):
        end = run.trip(f"t{hour}", at(hour + 0.1), km=2.0 + hour % 7, ride_s=600 + 60 * (hour % 5),
                       fare=12.0 + 3 * (hour % 7), surge=1.4 if hour in (8, 18) else 1.0)
        run.payment(f"t{hour}", end, 12.0 + 3 * (hour % 7), 3.0)
        run.rating(end, 5 if hour % 6 else 4)
    return run
