"""The golden backtest: the stored summary of the golden scenario is reproduced exactly, and a parameter
change shows up as the KPIs it moved (and only those)."""

from __future__ import annotations

import dataclasses

import pytest

from rideshare.backtest import GOLDEN_PATH, GOLDEN_SCENARIO, compare, load_golden, run_scenario


@pytest.fixture(scope="module")
def now() -> dict:
    return run_scenario()


def test_the_golden_scenario_reproduces_its_stored_kpi_summary(now: dict) -> None:
    assert GOLDEN_PATH.is_file(), "no golden summary: store one with `rideshare sim backtest --update`"
    moved = compare(load_golden(), now)
    listing = "\n".join(f"  {m.name}: {m.golden} -> {m.now}" for m in moved)
    assert not moved, (f"the golden backtest moved ({len(moved)} changes); if the change is intended, store the new "
                       f"summary with `rideshare sim backtest --update` and say what moved in the commit:\n{listing}")


def test_the_scenario_covers_every_event_type_and_surge(now: dict) -> None:
    assert {"trip_event", "gps_ping", "driver_status", "payment", "rating", "surge_update", "simulation_control",
            "driver_profile", "rider_profile"} <= set(now["events_by_schema"])
    assert now["kpis"]["surge.surged_share"] > 0 and now["events"] > 100_000


def test_a_fare_change_moves_the_money_kpis_and_nothing_else(now: dict) -> None:
    config = GOLDEN_SCENARIO.config()
    dearer = config.replace(pricing=dataclasses.replace(config.pricing, per_km_brl=config.pricing.per_km_brl + 0.5))
    moved = {m.name for m in compare(now, run_scenario(config=dearer))}
    assert {"kpi fare.mean_brl", "kpi fare.median_brl", "kpi fare.per_km_brl", "event bytes (sha256)"} <= moved
    # riders never see the price per km before they ask (only surge can put them off): behaviour is unchanged
    assert not {name for name in moved if name.startswith(("kpi wait.", "kpi distance.", "kpi gps.", "kpi surge.", "events "))}
