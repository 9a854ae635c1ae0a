"""The trip state machine (pure): states, legal transitions and who may cancel from where.

    REQUESTED ─► OFFER_SENT ─► DRIVER_ASSIGNED ─► EN_ROUTE_PICKUP ─► AT_PICKUP ─► IN_TRANSIT ─► COMPLETED
        │            │  ▲
        │            ▼  │ (next candidate)
        │      OFFER_EXPIRED / OFFER_REJECTED
        └──────────────┴──► NO_DRIVERS_AVAILABLE   (matching gave up: patience ran out, nobody accepted)

Cancellation rules (CANCELLED is reachable from every non-terminal state, but not by everybody):
- the **rider** may cancel before the trip starts: REQUESTED, OFFER_*, DRIVER_ASSIGNED,
  EN_ROUTE_PICKUP, AT_PICKUP; once IN_TRANSIT the rider can only end the ride at its destination.
- the **driver** may cancel only a trip they hold: DRIVER_ASSIGNED, EN_ROUTE_PICKUP, AT_PICKUP (a
  no-show). A driver who is only being *offered* a trip rejects it instead.
- the **system** may cancel any non-terminal trip, IN_TRANSIT included (drain timeout, shutdown).
Any other move raises InvalidTransition: it is a bug in the simulation, never a business outcome.
"""

from __future__ import annotations

from enum import StrEnum

from agents_sim.exceptions import InvalidTransition

__all__ = ["CANCELLERS", "TERMINAL", "TRANSITIONS", "TripState", "check_cancel", "check_transition"]


class TripState(StrEnum):
    REQUESTED = "requested"
    OFFER_SENT = "offer_sent"
    OFFER_EXPIRED = "offer_expired"
    OFFER_REJECTED = "offer_rejected"
    DRIVER_ASSIGNED = "driver_assigned"
    EN_ROUTE_PICKUP = "en_route_pickup"
    AT_PICKUP = "at_pickup"
    IN_TRANSIT = "in_transit"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_DRIVERS_AVAILABLE = "no_drivers_available"


S = TripState
TERMINAL = frozenset({S.COMPLETED, S.CANCELLED, S.NO_DRIVERS_AVAILABLE})
_SEARCHING = (S.OFFER_SENT, S.NO_DRIVERS_AVAILABLE, S.CANCELLED)
TRANSITIONS: dict[TripState, frozenset[TripState]] = {
    S.REQUESTED: frozenset(_SEARCHING),
    S.OFFER_SENT: frozenset({S.OFFER_EXPIRED, S.OFFER_REJECTED, S.DRIVER_ASSIGNED, S.CANCELLED}),
    S.OFFER_EXPIRED: frozenset(_SEARCHING),
    S.OFFER_REJECTED: frozenset(_SEARCHING),
    S.DRIVER_ASSIGNED: frozenset({S.EN_ROUTE_PICKUP, S.CANCELLED}),
    S.EN_ROUTE_PICKUP: frozenset({S.AT_PICKUP, S.CANCELLED}),
    S.AT_PICKUP: frozenset({S.IN_TRANSIT, S.CANCELLED}),
    S.IN_TRANSIT: frozenset({S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_DRIVERS_AVAILABLE: frozenset(),
}
_BEFORE_START = frozenset({S.REQUESTED, S.OFFER_SENT, S.OFFER_EXPIRED, S.OFFER_REJECTED, S.DRIVER_ASSIGNED, S.EN_ROUTE_PICKUP, S.AT_PICKUP})
CANCELLERS: dict[str, frozenset[TripState]] = {
    "rider": _BEFORE_START,
    "driver": frozenset({S.DRIVER_ASSIGNED, S.EN_ROUTE_PICKUP, S.AT_PICKUP}),
    "system": frozenset(TRANSITIONS) - TERMINAL,
}


def check_transition(current: TripState, target: TripState) -> None:
    """Raise InvalidTransition unless `current -> target` is an edge of the state machine."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"trip cannot go from {current.value} to {target.value}")


def check_cancel(current: TripState, by: str) -> None:
    """Raise InvalidTransition unless `by` (rider, driver, system) may cancel a trip in `current`."""
    allowed = CANCELLERS.get(by)
    if allowed is None:
        raise InvalidTransition(f"unknown canceller {by!r}; expected one of {', '.join(CANCELLERS)}")
    if current not in allowed:
        raise InvalidTransition(f"the {by} cannot cancel a trip that is {current.value}")
