from __future__ import annotations

from schemas.event_clock import EventClocks, RunClock

DAY = 86_400_000


def test_the_first_batch_seeds_the_watermark_with_its_median_so_a_lone_outlier_cannot() -> None:
    clock = RunClock(max_skew_ms=1_000)
    assert clock.admit([100, 20 * DAY, 200, 300]) == [True, False, True, True]
    assert clock.watermark == 300


def test_an_event_its_batch_agrees_with_is_not_an_outlier_on_a_quiet_partition() -> None:
    clock = RunClock(max_skew_ms=1_000, watermark=100)
    assert clock.admit([60_000]) == [True]  # a lone event minutes later: time moved on
    assert clock.admit([61_000, 62_000, 20 * DAY, 63_000]) == [True, True, False, True]
    assert clock.watermark == 63_000


def test_without_neighbours_only_the_committed_watermark_decides() -> None:
    clock = RunClock(max_skew_ms=1_000, watermark=100, neighbours=False)
    assert clock.admit([900, 60_000, 1_500]) == [True, False, True]


def test_markers_advance_the_clock_and_runs_beyond_the_bound_are_forgotten_oldest_first() -> None:
    clocks = EventClocks(max_skew_ms=1_000, max_runs=2)
    clocks.clock(0, "a").advance_to(5_000)
    assert clocks.clock(0, "a").watermark == 5_000
    clocks.clock(0, "b")
    clocks.clock(0, "c")
    assert clocks.runs(0) == ["b", "c"]
