"""Event records as typed dicts, generated from schemas/avro/*.avsc by `python -m schemas.record_types`:
do not edit by hand (a test fails when this file and the schemas disagree)."""

from __future__ import annotations

from typing import Literal, TypedDict

ProfileChangeType = Literal["created", "updated"]


ShiftPreference = Literal["morning", "afternoon", "evening", "night", "flexible"]


class DriverProfile(TypedDict):
    """Full state of a driver's profile after a creation or change (drives SCD2 dim_driver)."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    change_type: ProfileChangeType
    driver_id: str
    full_name: str
    email: str
    phone: str
    vehicle_make: str
    vehicle_model: str
    vehicle_year: int
    vehicle_color: str
    license_plate: str
    home_zone_id: str
    shift_preference: ShiftPreference
    changed_fields: list[str]


DriverStatus = Literal["offline", "available", "repositioning", "en_route_pickup", "on_trip"]


class DriverStatusChanged(TypedDict):
    """A driver's availability changed."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    driver_id: str
    previous_status: DriverStatus
    new_status: DriverStatus
    reason: str
    zone_id: str
    driver_lat: float
    driver_lon: float
    trip_id: str | None


EntityType = Literal["driver", "rider"]


class GpsPing(TypedDict):
    """A position report from a driver's or rider's phone (with realistic GPS noise)."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    entity_type: EntityType
    entity_id: str
    lat: float
    lon: float
    heading_deg: float
    speed_kmh: float
    accuracy_m: float
    trip_id: str | None
    driver_status: str | None


PaymentMethod = Literal["credit_card", "debit_card", "pix", "cash", "wallet"]


PaymentStatus = Literal["captured", "failed"]


class Payment(TypedDict):
    """Payment of a completed trip, split between platform and driver."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    payment_id: str
    trip_id: str
    rider_id: str
    driver_id: str
    payment_method: PaymentMethod
    fare_brl: float
    platform_fee_brl: float
    driver_payout_brl: float
    surge_multiplier: float
    status: PaymentStatus


RaterType = Literal["driver", "rider"]


class Rating(TypedDict):
    """One side of a completed trip rates the other."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    rating_id: str
    trip_id: str
    rater_type: RaterType
    rater_id: str
    ratee_id: str
    stars: int


class RiderProfile(TypedDict):
    """Full state of a rider's profile after a creation or change (drives SCD2 dim_rider)."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    change_type: ProfileChangeType
    rider_id: str
    full_name: str
    email: str
    phone: str
    home_zone_id: str
    payment_method: str
    changed_fields: list[str]
    loyalty_tier: str


ControlAction = Literal[
    "started",
    "draining",
    "paused",
    "resumed",
    "stopped",
    "speed_changed",
    "reset",
    "spawned",
    "checkpointed",
    "restored",
]


class SimulationControl(TypedDict):
    """A change of the simulation's run state or configuration."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    action: ControlAction
    speed: float | None
    drivers: int
    riders: int
    seed: int
    detail: str | None


class SurgeUpdate(TypedDict):
    """A zone's surge multiplier changed. Produced by the surge topology; the simulation applies the latest per zone."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    zone_id: str
    surge_multiplier: float
    previous_multiplier: float
    demand_count: int
    supply_count: int
    window_start: int
    window_end: int


TripEventType = Literal[
    "requested",
    "offer_sent",
    "offer_expired",
    "offer_rejected",
    "driver_assigned",
    "en_route_pickup",
    "at_pickup",
    "in_transit",
    "completed",
    "cancelled",
    "no_drivers_available",
]


CancelledBy = Literal["rider", "driver", "system"]


class TripEvent(TypedDict):
    """One step of a trip's lifecycle. All steps of a trip share trip_id (the Kafka key)."""

    event_id: str
    event_time: int
    session_id: str
    correlation_id: str
    causation_id: str | None
    event_type: TripEventType
    trip_id: str
    rider_id: str
    driver_id: str | None
    pickup_zone_id: str
    dropoff_zone_id: str
    pickup_lat: float
    pickup_lon: float
    dropoff_lat: float
    dropoff_lon: float
    surge_multiplier: float
    fare_estimate_brl: float
    fare_brl: float | None
    route_distance_km: float | None
    route_duration_s: float | None
    route_polyline: str | None
    offer_sequence: int | None
    eta_seconds: float | None
    cancelled_by: CancelledBy | None
    cancel_reason: str | None


EventRecord = (
    DriverProfile
    | DriverStatusChanged
    | GpsPing
    | Payment
    | Rating
    | RiderProfile
    | SimulationControl
    | SurgeUpdate
    | TripEvent
)

RECORD_TYPES: dict[str, type] = {  # schema name -> its record type
    "driver_profile": DriverProfile,
    "driver_status": DriverStatusChanged,
    "gps_ping": GpsPing,
    "payment": Payment,
    "rating": Rating,
    "rider_profile": RiderProfile,
    "simulation_control": SimulationControl,
    "surge_update": SurgeUpdate,
    "trip_event": TripEvent,
}
