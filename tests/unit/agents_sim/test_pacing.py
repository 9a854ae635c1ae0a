"""The `--speed auto` controller: it follows the workers' backlog (read at its floor, through the sawtooth of
their commits) towards the target, never runs away from what the simulation achieves, holds without a
reading, and starts over when offsets go back."""

from __future__ import annotations

from agents_sim.pacing import AutoPacer, LagSample
from schemas.limits import SPEED_FACTOR_MAX, SPEED_FACTOR_MIN


def _commits_every(pacer: AutoPacer, *, seconds: int, produced_per_s: int, backlog: int, commit_every_s: int,
                   achieved: float) -> float:
    """A worker that processes what is produced (keeping `backlog` records behind) and commits every few seconds."""
    committed = 0
    for t in range(seconds):
        produced = (t + 1) * produced_per_s
        if t % commit_every_s == 0:
            committed = max(0, produced - backlog)
        pacer.update(LagSample(float(t), produced - committed, committed), achieved)
    return pacer.factor


def test_speeds_up_through_the_commit_sawtooth_while_the_workers_keep_up() -> None:
    pacer = AutoPacer(target_lag_s=2.0, factor=1.0)
    # Readings swing from 0 to 4 s of production between commits: the floor says the workers keep up.
    factor = _commits_every(pacer, seconds=40, produced_per_s=1_000, backlog=0, commit_every_s=5, achieved=1_000.0)
    assert factor > 50
    assert pacer.last is not None and pacer.last.lag_s == 0.0 and pacer.last.drain_per_s is not None


def test_slows_down_when_the_backlog_floor_passes_the_target() -> None:
    pacer = AutoPacer(target_lag_s=2.0, factor=100.0)
    factor = _commits_every(pacer, seconds=30, produced_per_s=1_000, backlog=8_000, commit_every_s=5, achieved=100.0)
    assert factor < 25  # 8 s behind: 4x the target, so the factor fell well below its start
    assert pacer.last is not None and pacer.last.lag_s is not None and pacer.last.lag_s > 2.0


def test_a_stalled_worker_brings_the_speed_down_to_the_floor() -> None:
    pacer = AutoPacer(factor=200.0)
    for t in range(40):
        pacer.update(LagSample(float(t), 50_000 + t * 100, 1_000), 200.0)  # committed offsets never move
    assert pacer.factor == SPEED_FACTOR_MIN


def test_never_far_beyond_what_the_simulation_achieves() -> None:
    pacer = AutoPacer(factor=10.0)
    factor = _commits_every(pacer, seconds=60, produced_per_s=10, backlog=0, commit_every_s=1, achieved=12.0)
    assert factor <= 12.0 * 1.5 + 1.0


def test_holds_without_a_reading_or_a_commit_cycle_of_samples() -> None:
    pacer = AutoPacer(factor=5000.0)
    assert pacer.factor == SPEED_FACTOR_MAX
    assert pacer.update(None, 1.0) == SPEED_FACTOR_MAX
    for t in range(5):  # a lag, but less than floor_s of samples: no drain rate yet, so no decision
        pacer.update(LagSample(float(t), 10, 100 + t), 1.0)
    assert pacer.factor == SPEED_FACTOR_MAX


def test_offsets_going_back_start_the_rate_over() -> None:
    pacer = AutoPacer(factor=10.0)
    _commits_every(pacer, seconds=20, produced_per_s=100, backlog=0, commit_every_s=1, achieved=10.0)
    pacer.update(LagSample(30.0, 10, 5), 10.0)  # the group was recreated: committed offsets near zero
    assert pacer.drain_per_s() is None
