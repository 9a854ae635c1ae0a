from __future__ import annotations

import pytest

from topologies.surge import (
    SurgeConfig,
    apply_signal,
    closed_window_ends,
    evaluate_zone,
    next_multiplier,
    target_multiplier,
    window_counts,
)

CONFIG = SurgeConfig(window_ms=300_000, step_ms=60_000, cap=3.0, smoothing=0.5, dead_band=0.2)


def demand(t: int, zone: str = "1") -> dict:
    return {"kind": "demand", "zone_id": zone, "event_time": t, "id": f"e{t}"}


def supply(t: int, driver: str, zone: str = "1") -> dict:
    return {"kind": "supply", "zone_id": zone, "event_time": t, "id": driver}


def test_target_is_one_while_supply_covers_demand() -> None:
    assert target_multiplier(0, 0, 1.2, 3.0) == 1.0
    assert target_multiplier(5, 5, 1.2, 3.0) == 1.0


def test_target_rises_with_excess_demand_scaled_by_sensitivity_and_capped() -> None:
    assert target_multiplier(4, 2, 1.0, 3.0) == 2.0
    assert target_multiplier(4, 2, 1.5, 3.0) == 2.5
    assert target_multiplier(100, 1, 1.0, 3.0) == 3.0
    assert target_multiplier(3, 0, 1.0, 3.0) == 3.0  # no supply at all counts as one driver


def test_next_multiplier_moves_halfway_and_ignores_small_wobbles() -> None:
    assert next_multiplier(1.0, 3.0, CONFIG) == 2.0
    assert next_multiplier(2.0, 2.1, CONFIG) == 2.0  # inside the dead band: no flapping
    assert next_multiplier(2.0, 1.9, CONFIG) == 2.0


def test_next_multiplier_always_returns_to_one_when_quiet() -> None:
    value = 3.0
    for _ in range(10):
        value = next_multiplier(value, 1.0, CONFIG)
    assert value == 1.0


def test_oscillating_target_does_not_flap() -> None:
    values = [2.0]
    for target in [2.1, 1.9, 2.1, 1.9, 2.1, 1.9]:
        values.append(next_multiplier(values[-1], target, CONFIG))
    assert set(values) == {2.0}


def test_window_counts_sum_demand_and_count_distinct_drivers_across_panes() -> None:
    state = None
    for signal in [demand(0), demand(61_000), supply(1_000, "d1"), supply(65_000, "d1"), supply(70_000, "d2"), demand(400_000)]:
        state = apply_signal(state, signal, CONFIG)
    assert window_counts(state, 300_000, CONFIG) == (2, 2)
    assert window_counts(state, 360_000, CONFIG) == (1, 2)  # [60 s, 360 s): pane 0 is out, d1 counted once
    assert window_counts(state, 420_000, CONFIG) == (1, 0)  # [120 s, 420 s): only the 400 s request


def test_apply_signal_does_not_mutate_its_input_and_a_replayed_signal_changes_nothing() -> None:
    state = apply_signal(None, demand(0), CONFIG)
    apply_signal(state, demand(1), CONFIG)
    assert state["panes"]["0"]["demand"] == ["e0"]
    assert apply_signal(state, demand(0), CONFIG) == state


def test_evaluate_zone_publishes_changes_only_and_prunes_expired_panes() -> None:
    state = None
    for i in range(10):
        state = apply_signal(state, demand(i * 1000), CONFIG)
    state = apply_signal(state, supply(500, "d1"), CONFIG)
    state, update = evaluate_zone(state, 60_000, 1.0, CONFIG)
    assert update is not None and update["surge_multiplier"] == 2.0 and update["previous_multiplier"] == 1.0
    assert (update["demand_count"], update["supply_count"]) == (10, 1)
    assert (update["window_start"], update["window_end"]) == (-240_000, 60_000)
    state, again = evaluate_zone(state, 120_000, 1.0, CONFIG)
    assert again is not None and again["surge_multiplier"] == 2.5
    # once the window has moved past the burst, the pane is pruned and the multiplier comes down
    state, _ = evaluate_zone(state, 360_000, 1.0, CONFIG)
    assert state["panes"] == {}
    for end in range(420_000, 900_000, 60_000):
        state, _ = evaluate_zone(state, end, 1.0, CONFIG)
    assert state["multiplier"] == 1.0


def test_closed_window_ends_lists_each_crossed_step_and_caps_long_jumps() -> None:
    assert closed_window_ends(59_000, 61_000, CONFIG) == [60_000]
    assert closed_window_ends(61_000, 185_000, CONFIG) == [120_000, 180_000]
    assert closed_window_ends(60_500, 61_000, CONFIG) == []
    assert len(closed_window_ends(0, 10**9, CONFIG)) == 30


def test_window_must_be_a_multiple_of_the_step() -> None:
    with pytest.raises(ValueError, match="multiple"):
        SurgeConfig(window_ms=300_000, step_ms=70_000)


def test_signals_come_from_requests_available_statuses_and_available_drivers_pings() -> None:
    from topologies.surge import PingSupply, demand_signal, status_signal

    trip = {"event_type": "requested", "pickup_zone_id": "7", "event_time": 5, "event_id": "e1", "session_id": "s"}
    assert demand_signal(trip) == {"kind": "demand", "zone_id": "7", "event_time": 5, "id": "e1", "session_id": "s"}
    assert demand_signal({**trip, "event_type": "accepted"}) is None
    status = {"new_status": "available", "zone_id": "3", "event_time": 9, "driver_id": "d1", "session_id": "s"}
    assert status_signal(status)["kind"] == "supply" and status_signal({**status, "new_status": "on_trip"}) is None
    supply_from = PingSupply(CONFIG, lambda lat, lon: "4")
    ping = {"entity_type": "driver", "driver_status": "available", "lat": 0.0, "lon": 0.0, "event_time": 1_000,
            "entity_id": "d2", "session_id": "s"}
    assert supply_from.signal(ping)["zone_id"] == "4"
    assert supply_from.signal({**ping, "event_time": 2_000}) is None  # same pane and zone: signalled once
    assert supply_from.signal({**ping, "event_time": 61_000}) is not None  # next pane
    assert supply_from.signal({**ping, "driver_status": "on_trip", "event_time": 130_000}) is None


def test_engine_closes_every_zone_and_publishes_only_changed_multipliers() -> None:
    from topologies.surge import SurgeEngine

    engine = SurgeEngine(CONFIG, lambda zone_id: 1.0)
    for i in range(10):
        engine.add(demand(i * 1000, zone="hot"))
    engine.add(supply(500, "d1", zone="hot"))
    engine.add(supply(700, "d2", zone="calm"))
    updates, live = engine.close(60_000, "s1")
    assert [u["zone_id"] for u in updates] == ["hot"] and updates[0]["surge_multiplier"] == 2.0
    assert updates[0]["event_id"] == "surge-hot-60000" and updates[0]["session_id"] == "s1"
    assert set(live) == {"hot", "calm"} and live["calm"]["surge_multiplier"] == 1.0
