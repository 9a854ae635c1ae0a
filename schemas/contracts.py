"""Value bounds and limits of the platform's events: the one definition of what is plausible.

Every reader that validates events uses these: the shared record classification (bronze and the
real-time topologies, `schemas/classify.py`), silver's quarantine (passed to dbt as vars), the quality
suites and the simulation's pricing cap. A bound is written once here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "AMOUNT_FIELDS",
    "COORDINATE_FIELDS",
    "DAY_MS",
    "MAX_FARE_BRL",
    "MAX_SPEED_KMH",
    "SAO_PAULO_BBOX",
    "SURGE_CAP",
    "VALUE_RANGES",
    "BoundingBox",
    "ValueRange",
    "dbt_bound_vars",
]

DAY_MS = 86_400_000

SURGE_CAP = 3.0
"""Highest surge multiplier the platform ever applies (the surge topology caps at it, pricing too)."""
MAX_FARE_BRL = 2_000.0
"""A fare above this is not a city ride: silver quarantines it."""
MAX_SPEED_KMH = 250.0
"""A GPS speed above this is a bad fix, not a car in São Paulo."""


@dataclass(frozen=True)
class BoundingBox:
    min_lon: float
    max_lon: float
    min_lat: float
    max_lat: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


SAO_PAULO_BBOX = BoundingBox(min_lon=-47.2, max_lon=-46.0, min_lat=-24.3, max_lat=-23.0)
"""Generous box around the São Paulo municipality (GPS noise near the border stays inside)."""


@dataclass(frozen=True)
class ValueRange:
    """Bounds of one numeric field: finite, >= low and (when given) <= high; null passes (optional fields)."""

    field: str
    low: float
    high: float | None = None

    @property
    def expectation(self) -> str:
        if self.high is None:
            return f"finite and >= {self.low:g}"
        return f"between {self.low:g} and {self.high:g}"


COORDINATE_FIELDS: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType({
    "trip_event": (("pickup_lat", "pickup_lon"), ("dropoff_lat", "dropoff_lon")),
    "gps_ping": (("lat", "lon"),),
    "driver_status": (("driver_lat", "driver_lon"),),
})
"""(latitude, longitude) field pairs per schema: both finite and inside `SAO_PAULO_BBOX`."""

AMOUNT_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "trip_event": ("fare_estimate_brl", "fare_brl"),
    "payment": ("fare_brl", "platform_fee_brl", "driver_payout_brl"),
})
"""Money fields per schema: finite and never negative (the upper bound is silver's, `MAX_FARE_BRL`)."""

VALUE_RANGES: Mapping[str, tuple[ValueRange, ...]] = MappingProxyType({
    "trip_event": (
        ValueRange("surge_multiplier", 1.0, SURGE_CAP),
        ValueRange("route_distance_km", 0.0),
        ValueRange("route_duration_s", 0.0),
        ValueRange("eta_seconds", 0.0),
    ),
    "gps_ping": (
        ValueRange("speed_kmh", 0.0, MAX_SPEED_KMH),
        ValueRange("heading_deg", 0.0, 360.0),
        ValueRange("accuracy_m", 0.0),
    ),
    "payment": (ValueRange("surge_multiplier", 1.0, SURGE_CAP),),
    "surge_update": (
        ValueRange("surge_multiplier", 1.0, SURGE_CAP),
        ValueRange("previous_multiplier", 1.0, SURGE_CAP),
        ValueRange("demand_count", 0.0),
        ValueRange("supply_count", 0.0),
    ),
    "rating": (ValueRange("stars", 1.0, 5.0),),
})
"""Other numeric bounds per schema."""


def dbt_bound_vars() -> dict[str, float]:
    """The bounds silver's quarantine models read, as dbt vars (generated, never copied by hand)."""
    return {"surge_cap": SURGE_CAP, "max_fare_brl": MAX_FARE_BRL, "max_speed_kmh": MAX_SPEED_KMH,
            "min_lat": SAO_PAULO_BBOX.min_lat, "max_lat": SAO_PAULO_BBOX.max_lat,
            "min_lon": SAO_PAULO_BBOX.min_lon, "max_lon": SAO_PAULO_BBOX.max_lon}
