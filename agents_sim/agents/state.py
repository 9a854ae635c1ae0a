"""Mutable per-agent and per-trip state (the DNA stays frozen). Plain slotted classes: no SimPy here
except opaque handles (`proc`, `free`) that the simulation sets and checkpoints leave out."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from agents_sim.agents.dna import DriverDNA, RiderDNA
from agents_sim.movement import Leg
from agents_sim.trips import TripState, check_cancel, check_transition

__all__ = ["Driver", "Rider", "Trip"]

HISTORY = 20


@dataclass(slots=True, eq=False)
class Driver:
    dna: DriverDNA
    ordinal: int
    lat: float
    lon: float
    profile: dict[str, Any]
    status: str = "offline"
    heading: float = 0.0
    leg: Leg | None = None
    trip: Trip | None = None
    offered: str | None = None  # trip id of a pending offer
    next_trip: Trip | None = None  # a trip accepted while finishing the current one (forward dispatch)
    idle_wait: bool = False     # the driver's process waits in an interruptible idle step
    shift_end_ms: int = 0
    rating_sum: float = 4.8 * 5  # prior of five 4.8-star ratings
    rating_count: int = 5
    trips_completed: int = 0
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    proc: Any = None
    free: Any = None
    driver_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.driver_id = self.dna.driver_id  # read on every ping: a plain attribute, not a property

    @property
    def rating(self) -> float:
        return self.rating_sum / self.rating_count


@dataclass(slots=True, eq=False)
class Rider:
    dna: RiderDNA
    ordinal: int
    lat: float
    lon: float
    zone_id: str
    profile: dict[str, Any]
    status: str = "idle"  # idle, waiting, riding
    trip: Trip | None = None
    rating_sum: float = 4.85 * 5
    rating_count: int = 5
    trips_completed: int = 0
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=HISTORY))
    proc: Any = None
    rider_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.rider_id = self.dna.rider_id

    @property
    def rating(self) -> float:
        return self.rating_sum / self.rating_count


@dataclass(slots=True, eq=False)
class Trip:
    trip_id: str
    rider: Rider
    pickup: tuple[float, float, str]
    dropoff: tuple[float, float, str]
    surge_multiplier: float
    fare_estimate_brl: float
    requested_ms: int
    state: TripState = TripState.REQUESTED
    driver: Driver | None = None
    offer_sequence: int = 0
    eta_s: float | None = None
    leg: Leg | None = None
    last_event_id: str | None = None
    assigned_ms: int | None = None
    picked_up_ms: int | None = None
    cancel_at_ms: int | None = None     # when the rider will cancel (decided in advance), if at all
    rider_cancel_reason: str = "changed_mind"
    driver_cancel_at_ms: int | None = None  # when the assigned driver will cancel, if at all
    search_deadline_ms: int = 0
    proc: Any = None
    handover: Any = None  # a queued trip: triggered when its driver drops the current rider off

    def move(self, target: TripState) -> None:
        check_transition(self.state, target)
        self.state = target

    def cancel(self, by: str) -> None:
        check_cancel(self.state, by)
        check_transition(self.state, TripState.CANCELLED)
        self.state = TripState.CANCELLED
