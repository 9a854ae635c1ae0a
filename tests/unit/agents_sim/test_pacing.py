"""The `--speed auto` controller: it follows the workers' backlog towards the target, never runs away from
what the simulation achieves, holds without a reading, and starts over when offsets go back."""

from __future__ import annotations

from agents_sim.pacing import AutoPacer, LagSample
from schemas.limits import SPEED_FACTOR_MAX, SPEED_FACTOR_MIN


def _feed(pacer: AutoPacer, *, seconds: int, lag_records: int, drain_per_s: int, achieved: float, start: int = 0) -> float:
    committed = start * drain_per_s
    for t in range(start, start + seconds):
        committed += drain_per_s
        pacer.update(LagSample(float(t), lag_records, committed), achieved)
    return pacer.factor


def test_speeds_up_while_the_workers_keep_up() -> None:
    pacer = AutoPacer(target_lag_s=2.0, factor=1.0)
    factor = _feed(pacer, seconds=20, lag_records=100, drain_per_s=1_000, achieved=1_000.0)  # 0.1 s behind
    assert factor > 50
    assert pacer.last is not None and pacer.last.lag_s == 0.1 and pacer.last.drain_per_s == 1_000


def test_slows_down_in_proportion_when_the_backlog_passes_the_target() -> None:
    pacer = AutoPacer(target_lag_s=2.0, factor=100.0)
    pacer.update(LagSample(0.0, 8_000, 0), 100.0)
    pacer.update(LagSample(1.0, 8_000, 1_000), 100.0)  # 8 s behind: 4x the target
    assert pacer.factor == 50.0  # at most halved per reading
    pacer.update(LagSample(2.0, 3_000, 2_000), 50.0)  # 3 s behind: 1.5x the target
    assert 33.0 < pacer.factor < 34.0


def test_a_stalled_worker_brings_the_speed_down_to_the_floor() -> None:
    pacer = AutoPacer(factor=200.0)
    factor = _feed(pacer, seconds=30, lag_records=50_000, drain_per_s=0, achieved=200.0)
    assert factor == SPEED_FACTOR_MIN


def test_never_far_beyond_what_the_simulation_achieves() -> None:
    pacer = AutoPacer(factor=10.0)
    factor = _feed(pacer, seconds=50, lag_records=0, drain_per_s=10, achieved=12.0)
    assert factor <= 12.0 * 1.5 + 1.0


def test_holds_without_a_reading_and_stays_within_bounds() -> None:
    pacer = AutoPacer(factor=5000.0)
    assert pacer.factor == SPEED_FACTOR_MAX
    assert pacer.update(None, 1.0) == SPEED_FACTOR_MAX
    pacer.update(LagSample(0.0, 10, 100), 1.0)  # one sample: no drain rate yet, so no decision
    assert pacer.factor == SPEED_FACTOR_MAX


def test_offsets_going_back_start_the_rate_over() -> None:
    pacer = AutoPacer(factor=10.0)
    _feed(pacer, seconds=5, lag_records=10, drain_per_s=100, achieved=10.0)
    pacer.update(LagSample(10.0, 10, 5), 10.0)  # the group was recreated: committed offsets near zero
    assert pacer.drain_per_s() is None
