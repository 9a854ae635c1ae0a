from __future__ import annotations

import itertools

import pytest

from agents_sim.exceptions import InvalidTransition
from agents_sim.trips import CANCELLERS, TERMINAL, TRANSITIONS, TripState, check_cancel, check_transition

S = TripState
LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets, key=lambda s: s.value)]
ILLEGAL = [(a, b) for a in TripState for b in TripState if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a.value}->{b.value}" for a, b in LEGAL])
def test_every_legal_transition_is_accepted(current: TripState, target: TripState) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL[::7], ids=[f"{a.value}->{b.value}" for a, b in ILLEGAL[::7]])
def test_illegal_transitions_raise(current: TripState, target: TripState) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(current, target)


def test_happy_path_reaches_completed() -> None:
    path = [S.REQUESTED, S.OFFER_SENT, S.OFFER_REJECTED, S.OFFER_SENT, S.OFFER_EXPIRED, S.OFFER_SENT, S.DRIVER_ASSIGNED,
            S.EN_ROUTE_PICKUP, S.AT_PICKUP, S.IN_TRANSIT, S.COMPLETED]
    for a, b in itertools.pairwise(path):
        check_transition(a, b)


def test_terminal_states_have_no_exit_and_skipping_pickup_is_a_bug() -> None:
    assert all(not TRANSITIONS[s] for s in TERMINAL)
    with pytest.raises(InvalidTransition):
        check_transition(S.EN_ROUTE_PICKUP, S.IN_TRANSIT)
    with pytest.raises(InvalidTransition):
        check_transition(S.COMPLETED, S.CANCELLED)


def test_rider_cannot_cancel_in_transit_but_system_can() -> None:
    with pytest.raises(InvalidTransition):
        check_cancel(S.IN_TRANSIT, "rider")
    check_cancel(S.IN_TRANSIT, "system")
    check_cancel(S.AT_PICKUP, "rider")


def test_driver_cancels_only_trips_they_hold() -> None:
    with pytest.raises(InvalidTransition):
        check_cancel(S.OFFER_SENT, "driver")
    for state in (S.DRIVER_ASSIGNED, S.EN_ROUTE_PICKUP, S.AT_PICKUP):
        check_cancel(state, "driver")
    assert S.IN_TRANSIT not in CANCELLERS["driver"]
    with pytest.raises(InvalidTransition):
        check_cancel(S.REQUESTED, "alien")
