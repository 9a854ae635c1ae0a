from __future__ import annotations

import pytest

from agents_sim.agents.dna import make_driver_dna, make_rider_dna
from agents_sim.agents.shift_plan import BINS_PER_HOUR, plan_shifts
from agents_sim.demand import DemandCurve
from agents_sim.exceptions import ConfigError
from agents_sim.params import DemandParams, DriverParams, RiderParams, SimConfig, TrafficParams
from agents_sim.world.sampling import PlaceSampler
from schemas.zones import zone_index

SP_OFFSET_MS = -3 * 3_600_000
MONDAY_0000_SP = 1772420400000
PLAN = plan_shifts(DriverParams(), DemandParams(), TrafficParams())


@pytest.fixture(scope="module")
def places() -> PlaceSampler:
    return PlaceSampler(zone_index())


def test_driver_dna_within_configured_ranges(places: PlaceSampler) -> None:
    params = DriverParams()
    for i in range(200):
        dna = make_driver_dna(7, i, params, places, PLAN)
        assert params.acceptance_rate_range[0] <= dna.acceptance_rate <= params.acceptance_rate_range[1]
        assert params.cancel_tendency_range[0] <= dna.cancel_tendency <= params.cancel_tendency_range[1]
        assert params.hours_per_day_range[0] <= dna.hours_per_day <= params.hours_per_day_range[1]
        assert len(dna.work_days) == dna.days_per_week
        assert params.days_per_week_range[0] <= dna.days_per_week <= params.days_per_week_range[1]
        assert dna.shift_preference in {"morning", "afternoon", "evening", "night", "flexible"}
        assert 0 <= dna.service_quality <= 1 and dna.home_zone_id in zone_index().by_id
        assert dna.phone.startswith("+55 11 9") and "@example." in dna.email
        assert len(dna.license_plate) == 7


def test_rider_dna_within_ranges_with_two_to_five_destinations(places: PlaceSampler) -> None:
    params = RiderParams()
    for i in range(200):
        dna = make_rider_dna(7, i, params, places)
        assert 2 <= len(dna.destinations) <= 5
        assert params.max_surge_range[0] <= dna.max_surge <= params.max_surge_range[1]
        assert params.patience_min_range[0] * 60 <= dna.patience_s <= params.patience_min_range[1] * 60
        assert dna.payment_method in {m for m, _ in params.payment_mix}
        assert all(d.zone_id in zone_index().by_id for d in dna.destinations)


def test_dna_depends_only_on_seed_and_index(places: PlaceSampler) -> None:
    assert make_driver_dna(1, 5, DriverParams(), places, PLAN) == make_driver_dna(1, 5, DriverParams(), places, PLAN)
    assert make_driver_dna(1, 5, DriverParams(), places, PLAN) != make_driver_dna(2, 5, DriverParams(), places, PLAN)


def test_demand_curve_has_a_larger_pm_than_am_peak_and_quiet_nights() -> None:
    curve = DemandCurve(DemandParams(), SP_OFFSET_MS)
    by_hour = [curve.intensity(MONDAY_0000_SP + h * 3_600_000) for h in range(24)]
    am = max(by_hour[6:10])
    pm = max(by_hour[17:20])
    assert pm > am > 2 * max(by_hour[0:5])
    assert by_hour.index(am) in (7, 8) and by_hour.index(pm) in (17, 18, 19)
    assert 0.08 <= sum(by_hour[0:6]) / sum(by_hour) <= 0.14
    assert curve.weekday(MONDAY_0000_SP) == 0 and curve.local_hour(MONDAY_0000_SP) == 0


def test_friday_is_busier_than_monday() -> None:
    curve = DemandCurve(DemandParams(), SP_OFFSET_MS)
    hour = 18 * 3_600_000
    assert curve.intensity(MONDAY_0000_SP + 4 * 86_400_000 + hour) > curve.intensity(MONDAY_0000_SP + hour)


def test_config_rejects_typos_and_out_of_range_values() -> None:
    with pytest.raises(ConfigError, match="unknown simulation parameter"):
        SimConfig().replace(driverz=3)
    with pytest.raises(ConfigError):
        SimConfig(drivers=-1)
    with pytest.raises(ConfigError):
        DemandParams(hourly_share=(0.1,) * 24)
    with pytest.raises(ConfigError):
        SimConfig(start="yesterday")


def test_planned_supply_follows_the_target_and_the_centres_form_a_distribution() -> None:
    assert abs(sum(PLAN.centre_density) - 1) < 1e-9 and min(PLAN.centre_density) >= 0
    assert sum(abs(a - b) for a, b in zip(PLAN.planned_supply, PLAN.target_supply, strict=True)) < 0.1
    by_hour = [sum(PLAN.planned_supply[h * BINS_PER_HOUR:(h + 1) * BINS_PER_HOUR]) for h in range(24)]
    assert by_hour.index(max(by_hour)) in (17, 18, 19) and max(by_hour[0:5]) < min(by_hour[7:20])
    assert 0 <= PLAN.centre_hour(0.0) < PLAN.centre_hour(0.5) < PLAN.centre_hour(0.999) < 24


def test_every_weekday_gets_its_share_of_the_fleet_whatever_the_seed(places: PlaceSampler) -> None:
    params = DriverParams()
    expected = 400 * sum(range(params.days_per_week_range[0], params.days_per_week_range[1] + 1)) / 3 / 7
    for seed in (3, 17, 2024):
        dnas = [make_driver_dna(seed, i, params, places, PLAN) for i in range(400)]
        for weekday in range(7):
            working = sum(weekday in d.work_days for d in dnas)
            assert abs(working - expected) <= 6, (seed, weekday, working, expected)  # independent draws: ±9 (1 sd)
        assert all(list(d.work_days) == sorted(d.work_days) and 4 <= len(d.work_days) <= 6 for d in dnas)
