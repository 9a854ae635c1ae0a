"""One streaming pass over the events of a run: counters, histograms and the small state the KPIs need.

Memory is bounded by the number of trips in flight, drivers and GPS entities, never by the number of
events: finished trips are folded into histograms and dropped. Order matters only within one key
(one trip, one driver, one GPS entity), which is what both the jsonl sink and Kafka partitions keep,
so the events of all topics may be interleaved in any way.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from agents_sim.report.gps_noise import GpsNoiseEstimator
from agents_sim.report.histogram import Histogram

__all__ = ["SAO_PAULO", "KpiAccumulator", "local_slot"]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MATCH_WINDOW_MS = 60_000
SURGED_ABOVE = 1.0 + 1e-9  # a trip is surged when its multiplier is above 1.0×
MIN_PACE_KM = 0.5  # the pace (time per km) of shorter hops is dominated by a single light or turn
NIGHT_START_HOUR = 20  # a "night" for the Fri/Sat comparison runs 20:00–04:00, keyed by the evening's date
NIGHT_END_HOUR = 4
ONLINE_STATUSES = ("available", "repositioning", "en_route_pickup", "on_trip")
# driver status → the time-split bucket it counts toward (cruising for a request is idle time)
STATUS_BUCKET = {"available": "idle", "repositioning": "idle", "en_route_pickup": "to_pickup", "on_trip": "with_rider"}


@lru_cache(maxsize=8192)
def _slot_of_utc_hour(utc_hour: int) -> tuple[dt.date, int]:
    local = dt.datetime.fromtimestamp(utc_hour * 3600, tz=SAO_PAULO)
    return local.date(), local.hour


def local_slot(event_time_ms: int) -> tuple[dt.date, int]:
    """(local date, local hour) in São Paulo of a UTC event time; cached per UTC hour (SP offsets are whole hours)."""
    return _slot_of_utc_hour(event_time_ms // HOUR_MS)


class _Trip:
    """What is known about a trip in flight."""

    __slots__ = ("assigned", "at_pickup_ms", "in_transit_ms", "request_hour", "requested_ms")

    def __init__(self, requested_ms: int, request_hour: int) -> None:
        self.requested_ms = requested_ms
        self.request_hour = request_hour
        self.assigned = False
        self.at_pickup_ms: int | None = None
        self.in_transit_ms: int | None = None


class KpiAccumulator:
    """Feed it with `add(schema_name, record)`; `measure()` in measures.py turns it into KPI values."""

    def __init__(self) -> None:
        self.events_by_schema: Counter[str] = Counter()
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self.orphan_trip_events = 0
        self._trips: dict[str, _Trip] = {}
        # demand (by the request's local hour / date)
        self.requests = 0
        self.requests_by_hour = [0] * 24
        self.requests_by_date: Counter[dt.date] = Counter()
        self.requests_by_night: Counter[dt.date] = Counter()
        # outcomes of closed requests
        self.closed = 0
        self.closed_assigned = 0
        self.completed = 0
        self.completed_by_hour = [0] * 24
        self.unfulfilled = 0
        self.rider_cancels = 0
        self.rider_cancels_before_pickup = 0
        self.driver_cancels_after_accept = 0
        self.system_cancels = 0
        self.matched = 0
        self.matched_within_60s = 0
        # waits, trips, speeds
        self.wait_s = Histogram(bin_width=1.0, upper=4 * 3600.0)
        self.wait_sum_s_by_hour = [0.0] * 24
        self.wait_count_by_hour = [0] * 24
        self.distance_km = Histogram(bin_width=0.01, upper=300.0)
        self.duration_s = Histogram(bin_width=1.0, upper=6 * 3600.0)
        self.trip_km_by_hour = [0.0] * 24
        self.trip_h_by_hour = [0.0] * 24
        self.pace_sum_by_hour = [0.0] * 24  # Σ in-trip hours per km, trips of ≥ MIN_PACE_KM only
        self.pace_count_by_hour = [0] * 24
        # money
        self.fare_brl = Histogram(bin_width=0.05, upper=2_000.0)
        self.fare_with_km_brl = 0.0
        self.km_with_fare = 0.0
        self.surge = Histogram(bin_width=0.001, upper=10.0)
        self.surged = 0
        self.surged_multiplier_sum = 0.0
        self.take_share_sum = 0.0
        self.take_count = 0
        # ratings
        self.ratings = 0
        self.rating_stars_sum = 0
        self.five_stars = 0
        self.driver_ratings: dict[str, list[float]] = {}  # driver → [n, Σ stars, Σ stars²]
        # drivers' online time
        self._driver_state: dict[str, tuple[str, int]] = {}  # driver → (status, since_ms)
        self.online_ms = {"idle": 0, "to_pickup": 0, "with_rider": 0}
        self._shift_starts: dict[str, list[int]] = {}  # driver → times it went online (a few per day)
        self.gps = GpsNoiseEstimator()
        self.surge_modes: Counter[str] = Counter()  # surge mode of each started session (simulation_control detail)

    # -- dispatch ---------------------------------------------------------------------------------

    def add(self, schema: str, record: dict[str, Any]) -> None:
        self.events_by_schema[schema] += 1
        t = record["event_time"]
        if self.first_ms is None or t < self.first_ms:
            self.first_ms = t
        if self.last_ms is None or t > self.last_ms:
            self.last_ms = t
        handler = self._HANDLERS.get(schema)
        if handler is not None:
            handler(self, record)

    def _on_trip_event(self, event: dict[str, Any]) -> None:
        kind = event["event_type"]
        t = event["event_time"]
        trip_id = event["trip_id"]
        if kind == "requested":
            day, hour = local_slot(t)
            self._trips[trip_id] = _Trip(t, hour)
            self.requests += 1
            self.requests_by_hour[hour] += 1
            self.requests_by_date[day] += 1
            if hour >= NIGHT_START_HOUR:
                self.requests_by_night[day] += 1
            elif hour < NIGHT_END_HOUR:
                self.requests_by_night[day - dt.timedelta(days=1)] += 1
            return
        trip = self._trips.get(trip_id)
        if trip is None:
            self.orphan_trip_events += 1
            return
        if kind == "driver_assigned" and not trip.assigned:
            trip.assigned = True
            self.matched += 1
            if t - trip.requested_ms <= MATCH_WINDOW_MS:
                self.matched_within_60s += 1
        elif kind == "at_pickup" and trip.at_pickup_ms is None:
            trip.at_pickup_ms = t
            wait_s = (t - trip.requested_ms) / 1000.0
            self.wait_s.add(wait_s)
            self.wait_sum_s_by_hour[trip.request_hour] += wait_s
            self.wait_count_by_hour[trip.request_hour] += 1
        elif kind == "in_transit" and trip.in_transit_ms is None:
            trip.in_transit_ms = t
        elif kind == "no_drivers_available":  # terminal: a rider who tries again makes a new request
            self._close(trip_id, trip)
        elif kind == "completed":
            self._complete(trip, event)
            self._close(trip_id, trip)
        elif kind == "cancelled":
            self._cancel(trip, event)
            self._close(trip_id, trip)

    def _complete(self, trip: _Trip, event: dict[str, Any]) -> None:
        self.completed += 1
        self.completed_by_hour[trip.request_hour] += 1
        t = event["event_time"]
        # in-trip time as an analyst would take it: drop-off minus pick-up time; the sim's own figure if no pick-up was seen
        duration_s = (t - trip.in_transit_ms) / 1000.0 if trip.in_transit_ms is not None else event.get("route_duration_s")
        distance_km = event.get("route_distance_km")
        fare = event.get("fare_brl")
        if duration_s is not None:
            self.duration_s.add(duration_s)
        if distance_km is not None:
            self.distance_km.add(distance_km)
        if distance_km is not None and duration_s:
            _, hour = local_slot(trip.in_transit_ms if trip.in_transit_ms is not None else t - int(duration_s * 1000))
            self.trip_km_by_hour[hour] += distance_km
            self.trip_h_by_hour[hour] += duration_s / 3600.0
            if distance_km >= MIN_PACE_KM:
                self.pace_sum_by_hour[hour] += duration_s / 3600.0 / distance_km
                self.pace_count_by_hour[hour] += 1
        if fare is not None:
            self.fare_brl.add(fare)
            if distance_km:
                self.fare_with_km_brl += fare
                self.km_with_fare += distance_km
        multiplier = event["surge_multiplier"]
        self.surge.add(multiplier)
        if multiplier > SURGED_ABOVE:
            self.surged += 1
            self.surged_multiplier_sum += multiplier

    def _cancel(self, trip: _Trip, event: dict[str, Any]) -> None:
        by = event.get("cancelled_by")
        if by == "rider":
            self.rider_cancels += 1
            if trip.in_transit_ms is None:
                self.rider_cancels_before_pickup += 1
        elif by == "driver":
            if trip.assigned:
                self.driver_cancels_after_accept += 1
        else:
            self.system_cancels += 1

    def _close(self, trip_id: str, trip: _Trip) -> None:
        del self._trips[trip_id]
        self.closed += 1
        if trip.assigned:
            self.closed_assigned += 1
        else:
            self.unfulfilled += 1

    def _on_driver_status(self, event: dict[str, Any]) -> None:
        driver = event["driver_id"]
        t = event["event_time"]
        new = event["new_status"]
        known = self._driver_state.get(driver)
        if known is not None:
            status, since = known
            if status in STATUS_BUCKET:
                self.online_ms[STATUS_BUCKET[status]] += max(t - since, 0)
            was_online = status in STATUS_BUCKET
        else:
            was_online = event["previous_status"] in STATUS_BUCKET
        # a driver first seen already online began its shift before the data did: count it from here
        if new in STATUS_BUCKET and (known is None or not was_online):
            self._shift_starts.setdefault(driver, []).append(t)
        self._driver_state[driver] = (new, t)

    def _on_payment(self, payment: dict[str, Any]) -> None:
        if payment["status"] == "captured" and payment["fare_brl"] > 0:
            self.take_share_sum += payment["platform_fee_brl"] / payment["fare_brl"]
            self.take_count += 1

    def _on_rating(self, rating: dict[str, Any]) -> None:
        stars = rating["stars"]
        self.ratings += 1
        self.rating_stars_sum += stars
        self.five_stars += stars == 5
        if rating["rater_type"] == "rider":
            stats = self.driver_ratings.get(rating["ratee_id"])
            if stats is None:
                stats = self.driver_ratings[rating["ratee_id"]] = [0.0, 0.0, 0.0]
            stats[0] += 1
            stats[1] += stars
            stats[2] += stars * stars

    def _on_gps(self, ping: dict[str, Any]) -> None:
        self.gps.add(ping)

    def _on_control(self, control: dict[str, Any]) -> None:
        if control["action"] != "started":
            return
        fields = dict(part.split("=", 1) for part in (control.get("detail") or "").split() if "=" in part)
        self.surge_modes[fields.get("surge", "unknown")] += 1

    _HANDLERS: ClassVar[dict[str, Callable[[KpiAccumulator, dict[str, Any]], None]]] = {
        "trip_event": _on_trip_event,
        "driver_status": _on_driver_status,
        "payment": _on_payment,
        "rating": _on_rating,
        "gps_ping": _on_gps,
        "simulation_control": _on_control,
    }

    # -- end of data --------------------------------------------------------------------------------

    @property
    def open_trips(self) -> int:
        return len(self._trips)

    def online_ms_at_end(self) -> dict[str, int]:
        """Online time per bucket with every driver still online at the end counted up to the last event."""
        totals = dict(self.online_ms)
        end = self.last_ms or 0
        for status, since in self._driver_state.values():
            if status in STATUS_BUCKET:
                totals[STATUS_BUCKET[status]] += max(end - since, 0)
        return totals

    @property
    def drivers_online(self) -> int:
        return len(self._shift_starts)

    def driver_days(self) -> int:
        """Distinct (driver, day) pairs with a shift start, days being the data's own 24-h periods from its
        first event. A run from Monday 06:00 to Tuesday 06:00 is one day: a driver starting Tuesday 05:30
        is the same driver-day as their Monday shift, not a second, half-hour one as calendar dates would say."""
        if self.first_ms is None:
            return 0
        first = self.first_ms
        return sum(len({(t - first) // DAY_MS for t in starts}) for starts in self._shift_starts.values())

    @property
    def span_hours(self) -> float:
        if self.first_ms is None or self.last_ms is None:
            return 0.0
        return (self.last_ms - self.first_ms) / HOUR_MS

    def drivers_rated(self) -> list[tuple[int, float, float]]:
        """(n, mean, sample variance) of the stars each driver received (drivers with ≥ 1 rating)."""
        out = []
        for n, total, squares in self.driver_ratings.values():
            mean = total / n
            variance = (squares - n * mean * mean) / (n - 1) if n > 1 else math.nan
            out.append((int(n), mean, max(variance, 0.0) if n > 1 else math.nan))
        return out
