"""Driver and rider profiles: `created` events at spawn, and `updated` events carrying real changes.

A profile is the mutable part of an agent (contact data, vehicle, payment method, loyalty tier);
every update changes at least one field to a value different from the current one and the change
is kept on the agent, so a later update never reverts it (SCD2 history downstream stays true).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import simpy

from agents_sim.agents import identity
from agents_sim.agents.dna import DriverDNA, RiderDNA
from agents_sim.agents.state import Driver, Rider, Trip
from agents_sim.events import EventFactory
from agents_sim.params import ProfileParams

__all__ = ["Profiles", "driver_profile", "rider_profile"]

SHIFTS = ("morning", "afternoon", "evening", "night", "flexible")
PAYMENT_METHODS = ("credit_card", "debit_card", "pix", "cash", "wallet")


def driver_profile(dna: DriverDNA) -> dict[str, Any]:
    return {"full_name": dna.full_name, "email": dna.email, "phone": dna.phone, "vehicle_make": dna.vehicle_make,
            "vehicle_model": dna.vehicle_model, "vehicle_year": dna.vehicle_year, "vehicle_color": dna.vehicle_color,
            "license_plate": dna.license_plate, "home_zone_id": dna.home_zone_id, "shift_preference": dna.shift_preference}


def rider_profile(dna: RiderDNA) -> dict[str, Any]:
    return {"full_name": dna.full_name, "email": dna.email, "phone": dna.phone, "home_zone_id": dna.home_zone_id,
            "payment_method": dna.payment_method, "loyalty_tier": "standard"}


def _changed(profile: dict[str, Any], updates: dict[str, Any]) -> list[str]:
    """Apply the updates that differ from the current values; return the names of those fields."""
    changed = [name for name, value in updates.items() if profile[name] != value]
    for name in changed:
        profile[name] = updates[name]
    return changed


def _driver_updates(driver: Driver, rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("phone", "email", "vehicle", "repaint", "shift"))
    if kind == "phone":
        return {"phone": identity.phone_number(rng)}
    if kind == "email":
        return {"email": identity.email_for(driver.profile["full_name"], rng)}
    if kind == "vehicle":
        make, model, year, color = identity.vehicle(rng)
        return {"vehicle_make": make, "vehicle_model": model, "vehicle_year": max(year, driver.profile["vehicle_year"]),
                "vehicle_color": color, "license_plate": identity.license_plate(rng)}
    if kind == "repaint":
        return {"vehicle_color": rng.choice([c for c in identity.VEHICLE_COLORS if c != driver.profile["vehicle_color"]])}
    return {"shift_preference": rng.choice([s for s in SHIFTS if s != driver.profile["shift_preference"]])}


def _rider_updates(rider: Rider, rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("phone", "email", "payment"))
    if kind == "phone":
        return {"phone": identity.phone_number(rng)}
    if kind == "email":
        return {"email": identity.email_for(rider.profile["full_name"], rng)}
    return {"payment_method": rng.choice([m for m in PAYMENT_METHODS if m != rider.profile["payment_method"]])}


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:
        return max(0, round(rng.gauss(lam, lam**0.5)))
    k, p, limit = 0, 1.0, math.e ** -lam
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Profiles:
    """Emits profile events: `created` at spawn, `updated` for hourly random changes and loyalty promotions."""

    def __init__(self, env: simpy.Environment, events: EventFactory, params: ProfileParams) -> None:
        self._env = env
        self._events = events
        self._params = params

    def emit_driver(self, driver: Driver, change_type: str, changed: list[str]) -> None:
        p = driver.profile
        record = self._events.header(int(self._env.now), driver.driver_id, None)
        record.update({"change_type": change_type, "driver_id": driver.driver_id, "full_name": p["full_name"], "email": p["email"],
                       "phone": p["phone"], "vehicle_make": p["vehicle_make"], "vehicle_model": p["vehicle_model"],
                       "vehicle_year": p["vehicle_year"], "vehicle_color": p["vehicle_color"], "license_plate": p["license_plate"],
                       "home_zone_id": p["home_zone_id"], "shift_preference": p["shift_preference"], "changed_fields": changed})
        self._events.emit("driver_profile", record)

    def emit_rider(self, rider: Rider, change_type: str, changed: list[str], causation_id: str | None = None) -> None:
        p = rider.profile
        record = self._events.header(int(self._env.now), rider.rider_id, causation_id)
        record.update({"change_type": change_type, "rider_id": rider.rider_id, "full_name": p["full_name"], "email": p["email"],
                       "phone": p["phone"], "home_zone_id": p["home_zone_id"], "payment_method": p["payment_method"],
                       "changed_fields": changed, "loyalty_tier": p["loyalty_tier"]})
        self._events.emit("rider_profile", record)

    def apply_random_changes(self, drivers: Sequence[Driver], riders: Sequence[Rider], rng: random.Random) -> None:
        """One hour's profile changes across the population."""
        driver_p_per_hour = self._params.driver_change_p_per_day / 24
        rider_p_per_hour = self._params.rider_change_p_per_day / 24
        for _ in range(_poisson(rng, len(drivers) * driver_p_per_hour) if drivers else 0):
            driver = drivers[rng.randrange(len(drivers))]
            changed = _changed(driver.profile, _driver_updates(driver, rng))
            if changed:
                self.emit_driver(driver, "updated", changed)
        for _ in range(_poisson(rng, len(riders) * rider_p_per_hour) if riders else 0):
            rider = riders[rng.randrange(len(riders))]
            changed = _changed(rider.profile, _rider_updates(rider, rng))
            if changed:
                self.emit_rider(rider, "updated", changed)

    def maybe_promote(self, rider: Rider, trip: Trip) -> None:
        """Loyalty tiers only go up (gold at 10 completed trips, platinum at 40)."""
        for threshold, tier in self._params.loyalty_tiers:
            if rider.trips_completed >= threshold:
                if rider.profile["loyalty_tier"] != tier and (tier == "platinum" or rider.profile["loyalty_tier"] == "standard"):
                    rider.profile["loyalty_tier"] = tier
                    self.emit_rider(rider, "updated", ["loyalty_tier"], trip.last_event_id)
                return
