"""The fleet: every driver, the H3 indexes of those who can take an offer, and their status changes.

`set_status` is the one way a driver's status changes: it emits `driver_status` and keeps the
matchable index and the GPS schedule in step with the new status. Drivers carrying a rider are
indexed by their drop-off point while they ride (`finishing`): shortly before the drop-off they can
accept the next trip (forward dispatch).
"""

from __future__ import annotations

import simpy

from agents_sim.agents.state import Driver, Trip
from agents_sim.events import EventFactory
from agents_sim.movement import GpsSchedule
from agents_sim.world.driver_index import DriverIndex
from schemas.zones import ZoneIndex

__all__ = ["MATCHABLE", "Fleet"]

MATCHABLE = ("available", "repositioning")


class Fleet:
    def __init__(self, env: simpy.Environment, events: EventFactory, zones: ZoneIndex, gps: GpsSchedule, h3_resolution: int) -> None:
        self._env = env
        self._events = events
        self._zones = zones
        self._gps = gps
        self.drivers: dict[str, Driver] = {}
        self.index: DriverIndex[Driver] = DriverIndex(h3_resolution)
        self.finishing: DriverIndex[Driver] = DriverIndex(h3_resolution)  # on a trip, by drop-off point

    def add(self, driver: Driver) -> None:
        self.drivers[driver.driver_id] = driver

    def set_status(self, driver: Driver, status: str, reason: str, trip: Trip | None = None) -> None:
        """Change a driver's status, emit driver_status and keep the H3 index and GPS schedule in step."""
        now = int(self._env.now)
        previous = driver.status
        driver.status = status
        record = self._events.header(now, driver.driver_id, trip.last_event_id if trip is not None else None)
        record.update({
            "driver_id": driver.driver_id, "previous_status": previous, "new_status": status, "reason": reason,
            "zone_id": self._zones.nearest_zone(driver.lat, driver.lon),
            "driver_lat": round(driver.lat, 6), "driver_lon": round(driver.lon, 6),
            "trip_id": trip.trip_id if trip is not None else None,
        })
        self._events.emit("driver_status", record)
        driver.history.append({"t": now, "status": status, "reason": reason})
        if status == "offline":
            self.index.remove(driver.driver_id)
            self._gps.remove(driver.driver_id)
            return
        if status in MATCHABLE:
            self.index.put(driver.driver_id, driver, driver.lat, driver.lon)
        else:
            self.index.remove(driver.driver_id)
        self.track(driver)

    def track(self, driver: Driver) -> None:
        """Ping an online driver on the moving schedule while it drives a leg, on the parked one otherwise."""
        if driver.leg is not None:
            self._gps.set_moving(driver.driver_id, driver.ordinal, driver)
        else:
            self._gps.set_parked(driver.driver_id, driver.ordinal, driver)

    def park(self, driver: Driver) -> None:
        """An idle driver stops where it is (its H3 cell and the parked GPS schedule follow)."""
        self.index.put(driver.driver_id, driver, driver.lat, driver.lon)
        self.track(driver)

    def riding(self, driver: Driver, dropoff: tuple[float, float, str]) -> None:
        """The driver carries a rider to `dropoff`: a candidate for the next trip shortly before it."""
        self.finishing.put(driver.driver_id, driver, dropoff[0], dropoff[1])

    def not_riding(self, driver: Driver) -> None:
        self.finishing.remove(driver.driver_id)

    def can_take_offer(self, driver: Driver, now: int, forward_ms: int) -> bool:
        """Idle and matchable, or carrying a rider to a drop-off within `forward_ms` with nothing queued and
        the shift not ending before then; and no other offer pending."""
        if driver.offered is not None:
            return False
        if driver.trip is None:
            return driver.status in MATCHABLE
        leg = driver.leg
        return (driver.status == "on_trip" and driver.next_trip is None and leg is not None
                and leg.end_ms - now <= forward_ms and leg.end_ms < driver.shift_end_ms)
