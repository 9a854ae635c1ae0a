"""Each KPI formula of agents_sim.report on small handcrafted runs whose values are computed by hand."""

from __future__ import annotations

import math
import random

import pytest

from agents_sim.report import BANDS, KpiAccumulator, measure, report_of
from agents_sim.report.fold import local_slot
from schemas.codec import encode
from tests.unit.agents_sim.report_events import MIDNIGHT_MS, MINUTE, Run, at


def test_handcrafted_events_are_valid_records_of_their_schemas() -> None:
    run = Run()
    end = run.trip("t1", at(8))
    run.trip_event("t2", "requested", at(9))
    run.trip_event("t2", "cancelled", at(9.1), cancelled_by="rider", cancel_reason="patience_expired")
    run.shift("d1", at(6), [("available", 1), ("en_route_pickup", 0.5), ("on_trip", 1)])
    run.payment("t1", end, 30.0, 7.5)
    run.rating(end, 5)
    run.whole_day()
    for schema, record in run.events:
        assert encode(schema, record)


def test_local_slot_uses_sao_paulo_time() -> None:
    day, hour = local_slot(MIDNIGHT_MS + 30 * MINUTE)
    assert (day.isoformat(), hour) == ("2026-03-02", 0)
    assert local_slot(MIDNIGHT_MS - 1)[1] == 23


def test_distance_and_duration_statistics_of_completed_trips() -> None:
    run = Run()
    for i, (km, ride_s) in enumerate([(2.0, 600), (6.0, 1200), (10.0, 1800)]):
        run.trip(f"t{i}", at(10 + i), km=km, ride_s=ride_s)
    report = run.report()
    assert report.value("distance.mean_km") == pytest.approx(6.0)
    assert report.value("distance.median_km") == pytest.approx(6.0, abs=0.01)
    assert report.value("distance.p95_km") == pytest.approx(10.0, abs=0.01)
    assert report.value("duration.mean_min") == pytest.approx(20.0)
    assert report.value("duration.median_min") == pytest.approx(20.0, abs=1 / 60)


def test_in_trip_speed_is_distance_over_time_per_hour_window_and_traffic_compares_to_night() -> None:
    run = Run()
    run.trip("am1", at(8), km=5.0, ride_s=15 * 60, wait_s=0, board_s=0)     # 20 km/h
    run.trip("am2", at(8.5), km=10.0, ride_s=20 * 60, wait_s=0, board_s=0)  # 30 km/h
    run.trip("night", at(2), km=8.0, ride_s=15 * 60, wait_s=0, board_s=0)   # 32 km/h
    report = run.report()
    assert report.value("speed.h07_10_kmh") == pytest.approx(15.0 / (35 / 60))
    assert report.value("speed.h00_05_kmh") == pytest.approx(32.0)
    assert report.value("speed.h17_20_kmh") is None
    assert "17–20" in report.measurements.reasons["speed.h17_20_kmh"]
    # pace in min/km: 3.0 and 2.0 in the morning, 1.875 at night (free flow); the day's mean pace 6.875 / 3
    assert report.value("traffic.extra_time_share") == pytest.approx((6.875 / 3) / 1.875 - 1.0)


def test_pickup_wait_statistics_and_uplift_at_busy_hours() -> None:
    run = Run()
    run.trip("calm", at(12), wait_s=180)  # midday: calm hour
    run.trip("busy", at(8), wait_s=300)   # AM peak: busy hour
    report = run.report()
    assert report.value("wait.mean_min") == pytest.approx(4.0)
    assert report.value("wait.median_min") == pytest.approx(3.0, abs=1 / 60)
    assert report.value("wait.peak_night_uplift") == pytest.approx(300 / 180 - 1.0)


def test_matching_share_within_60_s_is_among_matched_requests_and_unfulfilled_among_all() -> None:
    run = Run()
    run.trip("fast", at(10), assign_s=30)
    run.trip("slow", at(11), assign_s=90)
    run.trip("quick", at(12), assign_s=20)
    run.trip_event("none", "requested", at(13))
    run.trip_event("none", "no_drivers_available", at(13.2))
    report = run.report()
    assert report.value("matching.assigned_within_60s_share") == pytest.approx(2 / 3)
    assert report.value("matching.unfulfilled_share") == pytest.approx(1 / 4)


def test_cancellation_and_completion_shares() -> None:
    run = Run()
    for i in range(7):
        run.trip(f"ok{i}", at(10 + i * 0.1))
    run.trip_event("rc", "requested", at(12))
    run.trip_event("rc", "cancelled", at(12.05), cancelled_by="rider", cancel_reason="patience_expired")
    run.trip_event("dc", "requested", at(13))
    run.trip_event("dc", "driver_assigned", at(13.01), driver_id="d2")
    run.trip_event("dc", "cancelled", at(13.1), driver_id="d2", cancelled_by="driver", cancel_reason="driver_cancelled")
    run.trip_event("nd", "requested", at(14))
    run.trip_event("nd", "no_drivers_available", at(14.2))
    run.trip_event("open", "requested", at(23.9))  # still searching when the data ends: censored
    report = run.report()
    assert report.value("cancel.rider_share") == pytest.approx(1 / 10)
    assert report.value("cancel.rider_before_pickup_share") == pytest.approx(1.0)
    assert report.value("cancel.driver_after_accept_share") == pytest.approx(1 / 8)
    assert report.value("cancel.completion_share") == pytest.approx(7 / 10)
    assert report.value("matching.unfulfilled_share") == pytest.approx(2 / 10)
    assert report.measurements.facts["open_requests_at_end"] == 1


def test_events_of_a_trip_whose_request_was_not_seen_are_counted_as_orphans() -> None:
    run = Run()
    run.trip_event("x", "completed", at(1), fare_brl=20.0, route_distance_km=3.0, route_duration_s=600.0)
    report = run.report()
    assert report.measurements.facts["orphan_trip_events"] == 1
    assert report.value("distance.mean_km") is None


def test_driver_time_split_and_productivity_from_status_changes() -> None:
    run = Run()
    run.shift("d1", at(6), [("available", 1), ("en_route_pickup", 0.5), ("on_trip", 1.5), ("repositioning", 1)])
    run.trip("t1", at(7))
    run.trip("t2", at(8))
    run.whole_day()
    report = run.report()
    assert report.value("time_split.with_rider_share") == pytest.approx(1.5 / 4)
    assert report.value("time_split.to_pickup_share") == pytest.approx(0.5 / 4)
    assert report.value("time_split.idle_share") == pytest.approx(2 / 4)
    assert report.value("productivity.trips_per_online_hour") == pytest.approx(2 / 4)
    assert report.value("productivity.online_hours_per_driver_day") == pytest.approx(4.0)


def test_a_driver_still_online_at_the_end_counts_until_the_last_event() -> None:
    run = Run()
    run.driver_status("d1", at(20), "offline", "available")
    run.whole_day()  # the last event is 4 h later
    report = run.report()
    assert report.value("time_split.idle_share") == pytest.approx(1.0)
    assert report.value("productivity.online_hours_per_driver_day") == pytest.approx(4.0)


def test_daily_kpis_are_na_with_the_reason_when_the_run_is_shorter_than_a_day() -> None:
    run = Run()
    run.shift("d1", at(6), [("available", 2)])
    run.trip("t1", at(7))
    report = run.report()
    assert report.value("city.trips_per_day") is None
    assert "whole day" in report.measurements.reasons["city.trips_per_day"]
    assert report.row("city_trips").status == "n/a"
    assert report.row("demand_shape").status == "n/a"


def test_city_volume_scales_trips_per_driver_day_to_the_city_fleet_and_peak_share() -> None:
    run = Run()
    run.shift("d1", at(6), [("available", 8)])
    run.shift("d2", at(14), [("available", 8)])
    for i in range(3):
        run.trip(f"a{i}", at(8 + i * 0.2))
    run.trip("b", at(12))
    run.whole_day()
    assert run.report().value("city.trips_per_day") == pytest.approx(4 / 2 * 100_000)
    report = run.report(city_active_drivers=500_000)
    assert report.value("city.trips_per_day") == pytest.approx(1_000_000)
    assert report.value("city.peak_hour_share") == pytest.approx(3 / 4)
    assert report.row("city_trips").checks[0].in_band is True


def test_demand_shape_peaks_ratio_and_night_share() -> None:
    run = Run()
    per_hour = {h: 2 for h in range(24)} | {h: 1 for h in range(6)} | {8: 10, 18: 15}
    for hour, n in per_hour.items():
        for i in range(n):
            run.trip_event(f"h{hour}-{i}", "requested", at(hour + i / 100))
    run.whole_day()
    report = run.report()
    total = sum(per_hour.values())
    assert total == 63
    assert report.value("demand.am_peak_hour") == 8
    assert report.value("demand.pm_peak_hour") == 18
    assert report.value("demand.pm_over_am") == pytest.approx(1.5)
    assert report.value("demand.night_share") == pytest.approx(6 / 63)
    row = report.row("demand_shape")
    assert row.status == "pass"  # Fri/Sat and weekend checks are optional: one weekday cannot show them
    assert report.value("demand.weekend_uplift") is None


def test_weekend_uplift_and_friday_night_need_and_use_a_multi_day_run() -> None:
    run = Run()
    # Monday .. Sunday: 10 requests a weekday (20 on Friday, 10 of them at night), 15 on Saturday and Sunday
    run.control(at(0), "started")
    for day in range(7):
        n = 15 if day >= 5 else 10
        for i in range(n):
            run.trip_event(f"d{day}-{i}", "requested", at(24 * day + 10 + i / 10))
        if day == 4:
            for i in range(10):
                run.trip_event(f"fri-{i}", "requested", at(24 * day + 22 + i / 100))
    run.control(at(24 * 7 + 6), "stopped")
    report = run.report()
    # whole weekdays: 10, 10, 10, 10, 20 → mean 12; weekend 15, 15 → +25 %
    assert report.value("demand.weekend_uplift") == pytest.approx(15 / 12 - 1.0)
    assert report.value("demand.fri_sat_night_heaviest") == 1.0


def test_surge_statistics_over_completed_trips() -> None:
    run = Run()
    for i, surge in enumerate([1.0] * 8 + [1.5, 2.0]):
        run.trip(f"t{i}", at(9 + i * 0.1), surge=surge)
    report = run.report()
    assert report.value("surge.surged_share") == pytest.approx(0.2)
    assert report.value("surge.mean_when_surged") == pytest.approx(1.75)
    assert report.value("surge.max") == pytest.approx(2.0)
    assert report.value("surge.p99") == pytest.approx(2.0, abs=0.01)


def test_surge_is_na_with_a_reason_when_the_run_has_no_surge_at_all() -> None:
    run = Run()
    run.trip("t1", at(9))
    report = run.report()
    row = report.row("surge")
    assert row.status == "n/a" and not row.in_band
    assert "surge topology" in row.reason


def test_the_report_names_the_surge_mode_that_produced_the_events() -> None:
    lockstep = Run()
    lockstep.control(at(0), "started", "surge=lockstep step_ms=60000")
    lockstep.trip("t1", at(9), surge=1.5)
    assert lockstep.report().measurements.facts["surge_mode"] == "lockstep"
    unrecorded = Run()
    unrecorded.control(at(0), "started")
    assert unrecorded.report().measurements.facts["surge_mode"] == "unknown"
    two = Run()
    two.control(at(0), "started", "surge=live")
    two.control(at(1), "started", "surge=in-process step_ms=60000")
    assert two.report().measurements.facts["surge_mode"] == "mixed: in-process, live"


def test_a_run_with_surge_off_says_so_instead_of_blaming_the_topology() -> None:
    run = Run()
    run.control(at(0), "started", "surge=off")
    run.trip("t1", at(9))
    row = run.report().row("surge")
    assert row.status == "n/a" and "surge off" in row.reason


def test_fares_median_mean_per_km_and_minimum() -> None:
    run = Run()
    for i, (fare, km) in enumerate([(10.0, 2.0), (20.0, 6.0), (30.0, 10.0)]):
        run.trip(f"t{i}", at(9 + i), fare=fare, km=km)
    report = run.report()
    assert report.value("fare.mean_brl") == pytest.approx(20.0)
    assert report.value("fare.median_brl") == pytest.approx(20.0, abs=0.05)
    assert report.value("fare.per_km_brl") == pytest.approx(60 / 18)
    assert report.value("fare.min_brl") == pytest.approx(10.0)


def test_platform_take_is_the_mean_fee_share_of_captured_payments() -> None:
    run = Run()
    run.payment("a", at(9), 20.0, 5.0)
    run.payment("b", at(10), 30.0, 9.0)
    run.payment("c", at(11), 40.0, 40.0, status="failed")
    assert run.report().value("take.mean_share") == pytest.approx((0.25 + 0.30) / 2)


def test_rating_mean_and_five_star_share_over_all_ratings() -> None:
    run = Run()
    for stars in (5, 5, 5, 4):
        run.rating(at(9), stars)
    run.rating(at(9), 5, rater_type="driver", ratee="r1")
    report = run.report()
    assert report.value("ratings.mean") == pytest.approx(24 / 5)
    assert report.value("ratings.five_star_share") == pytest.approx(4 / 5)
    assert report.value("ratings.drivers_below_4_6_share") is None  # fewer than 10 rated drivers


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_drivers_below_4_6_by_empirical_bayes_uses_between_driver_spread() -> None:
    run = Run()
    for d in range(10):
        for _ in range(2):
            run.rating(at(9), 5 if d < 8 else 4, ratee=f"d{d}")
    # day-means: eight 5.0 and two 4.0 → centre 4.8, spread (8·0.04 + 2·0.64)/9; within-driver variance 0
    tau = math.sqrt((8 * 0.2**2 + 2 * 0.8**2) / 9)
    assert run.report().value("ratings.drivers_below_4_6_share") == pytest.approx(_phi((4.6 - 4.8) / tau))


def test_drivers_below_4_6_is_zero_when_day_means_differ_only_by_noise() -> None:
    run = Run()
    for d in range(10):
        for stars in ((5, 5, 5, 4) if d % 2 else (5, 5, 4, 5)):
            run.rating(at(9), stars, ratee=f"d{d}")
    # every driver has the same day-mean 4.75: no between-driver spread, all above 4.6
    assert run.report().value("ratings.drivers_below_4_6_share") == 0.0


def test_every_band_metric_is_measured_even_on_empty_input() -> None:
    measurements = measure(KpiAccumulator())
    for band in BANDS:
        for check in band.checks:
            assert check.metric in measurements.metrics
            assert measurements.metrics[check.metric] is None
            assert measurements.reasons[check.metric]


def test_there_are_sixteen_kpi_rows_as_in_calibration_md() -> None:
    assert len(BANDS) == 16
    assert len({band.key for band in BANDS}) == 16


def test_a_row_misses_when_one_required_check_is_out_of_band() -> None:
    run = Run()
    run.payment("a", at(9), 20.0, 8.0)  # 40 % take: above the 20–30 % band
    row = run.report().row("platform_take")
    assert row.status == "miss"
    assert "40.0 %" in row.reason and "20–30 %" in row.reason


def test_a_weeknight_busier_than_friday_and_saturday_nights_is_reported_as_no() -> None:
    run = Run()
    run.control(at(0), "started")
    for day in range(7):
        for i in range(30 if day == 2 else 5):  # Wednesday night is the busiest
            run.trip_event(f"n{day}-{i}", "requested", at(24 * day + 21 + i / 100))
    run.control(at(24 * 7 + 6), "stopped")
    report = run.report()
    assert report.value("demand.fri_sat_night_heaviest") == 0.0
    assert report.row("demand_shape").checks[4].in_band is False


def test_report_of_an_accumulator_fed_elsewhere_equals_compute_kpis() -> None:
    run = Run()
    run.trip("t1", at(9), km=7.0)
    accumulator = KpiAccumulator()
    for schema, record in run.events:
        accumulator.add(schema, record)
    assert report_of(accumulator).measurements.metrics == run.report().measurements.metrics


def _rate_drivers(run: Run, five_star_p: list[float], ratings_each: int, rng: random.Random) -> None:
    """Ratings drawn like the simulation's: 5 stars with p, else 4/3/2/1 with 68/22/6/4 %."""
    for d, p in enumerate(five_star_p):
        for _ in range(ratings_each):
            x = rng.random()
            stars = 5 if rng.random() < p else 4 if x < 0.68 else 3 if x < 0.9 else 2 if x < 0.96 else 1
            run.rating(at(9), stars, ratee=f"d{d}")


def test_drivers_below_4_6_is_near_zero_for_good_drivers_although_many_day_means_are_below() -> None:
    rng = random.Random(11)
    run = Run()
    good = [rng.uniform(0.85, 0.98) for _ in range(600)]  # long-run means 4.78–4.97: none below 4.6
    _rate_drivers(run, good, 6, rng)
    accumulator = KpiAccumulator()
    for schema, record in run.events:
        accumulator.add(schema, record)
    naive = sum(mean < 4.6 for _, mean, _ in accumulator.drivers_rated()) / len(good)
    assert naive > 0.05  # six ratings a day: one 3-star and one 4-star already drag a day-mean to 4.5
    assert report_of(accumulator).value("ratings.drivers_below_4_6_share") < 0.01


def test_drivers_below_4_6_detects_a_real_group_of_poor_drivers() -> None:
    rng = random.Random(12)
    run = Run()
    _rate_drivers(run, [0.5] * 100 + [0.93] * 900, 6, rng)  # 10 % of drivers with a long-run mean of 4.27
    share = run.report().value("ratings.drivers_below_4_6_share")
    assert 0.05 < share < 0.15


def test_driver_days_are_24_h_periods_of_the_data_not_calendar_dates() -> None:
    run = Run()
    run.control(at(6), "started")  # Monday 06:00 → Tuesday 06:00, as `sim run` does by default
    run.shift("d1", at(6), [("available", 6)])            # Monday 06:00–12:00
    run.shift("d1", at(24 + 5.5), [("available", 0.5)])   # Tuesday 05:30–06:00: the same driver-day of this run
    run.shift("d2", at(14), [("available", 8)])
    run.control(at(30), "stopped")
    report = run.report()
    assert report.measurements.facts["driver_days"] == 2
    assert report.value("productivity.online_hours_per_driver_day") == pytest.approx((6 + 0.5 + 8) / 2)
