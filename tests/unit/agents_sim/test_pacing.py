"""The `--speed auto` controller: it follows the workers' backlog (read right after their commits, through
the sawtooth the commits make) towards the target, slows down as soon as the backlog grows, never runs away
from what the simulation achieves, holds without a reading, and starts over when offsets go back."""

from __future__ import annotations

from agents_sim.pacing import AutoPacer, LagSample
from schemas.limits import SPEED_FACTOR_MAX, SPEED_FACTOR_MIN


def _feed(pacer: AutoPacer, *, seconds: int, produced_per_s: int, processed_per_s: int, commit_every_s: int,
          achieved: float, start: int = 0) -> float:
    """Production at a constant rate; a worker that processes up to `processed_per_s` and commits every few seconds."""
    produced = processed = committed = 0
    for t in range(start, start + seconds):
        produced += produced_per_s
        processed = min(produced, processed + processed_per_s)
        if t % commit_every_s == 0:
            committed = processed
        pacer.update(LagSample(float(t), produced - committed, committed), achieved)
    return pacer.factor


def test_speeds_up_through_the_commit_sawtooth_while_the_workers_keep_up() -> None:
    pacer = AutoPacer(target_lag_s=2.0, factor=1.0)
    # Readings swing from 0 to 4 s of production between commits: read after each commit, nothing waits.
    factor = _feed(pacer, seconds=40, produced_per_s=1_000, processed_per_s=5_000, commit_every_s=5, achieved=1_000.0)
    assert factor > 30
    assert pacer.last is not None and pacer.last.lag_s is not None and pacer.last.lag_s < 2.0


def test_slows_down_as_soon_as_the_backlog_grows() -> None:
    pacer = AutoPacer(target_lag_s=2.0, factor=100.0)
    # The workers process 60 % of what is produced: the backlog after each commit grows.
    factor = _feed(pacer, seconds=30, produced_per_s=1_000, processed_per_s=600, commit_every_s=5, achieved=100.0)
    assert factor < 40


def test_slows_down_in_proportion_past_the_target() -> None:
    pacer = AutoPacer(target_lag_s=2.0, factor=100.0)
    for t in range(12):  # 8 s of production behind right after every commit, not growing
        pacer.update(LagSample(float(t), 8_000, t * 1_000), 100.0)
    assert pacer.factor < 25 and pacer.last is not None and pacer.last.lag_s is not None and pacer.last.lag_s > 2.0


def test_a_stalled_worker_brings_the_speed_down_to_the_floor() -> None:
    pacer = AutoPacer(factor=200.0)
    _feed(pacer, seconds=20, produced_per_s=1_000, processed_per_s=5_000, commit_every_s=2, achieved=200.0)
    for t in range(20, 80):  # committed offsets stop moving while records keep coming
        pacer.update(LagSample(float(t), (t - 19) * 1_000, 20_000), 200.0)
    assert pacer.factor == SPEED_FACTOR_MIN


def test_never_far_beyond_what_the_simulation_achieves() -> None:
    pacer = AutoPacer(factor=10.0)
    factor = _feed(pacer, seconds=60, produced_per_s=10, processed_per_s=1_000, commit_every_s=1, achieved=12.0)
    assert factor <= 12.0 * 1.5 + 1.0


def test_holds_without_a_reading_or_a_commit_cycle_of_samples() -> None:
    pacer = AutoPacer(factor=5000.0)
    assert pacer.factor == SPEED_FACTOR_MAX
    assert pacer.update(None, 1.0) == SPEED_FACTOR_MAX
    for t in range(3):  # a lag, but not yet a rate over half the window: no decision
        pacer.update(LagSample(float(t), 10, 100 + t), 1.0)
    assert pacer.factor == SPEED_FACTOR_MAX


def test_offsets_going_back_start_the_rate_over() -> None:
    pacer = AutoPacer(factor=10.0)
    _feed(pacer, seconds=20, produced_per_s=100, processed_per_s=1_000, commit_every_s=1, achieved=10.0)
    pacer.update(LagSample(30.0, 10, 5), 10.0)  # the group was recreated: committed offsets near zero
    assert pacer.drain_per_s() is None
