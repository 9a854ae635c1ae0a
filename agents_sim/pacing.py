"""`--speed auto`: the speed factor that keeps the real-time stream workers' backlog near a target.

Pure control logic (no I/O, no threads), fed once a second with lag samples read elsewhere
(agents_sim.lag): the group's records behind (end offsets minus committed offsets) and the sum of its
committed offsets.

Committed offsets move in steps: a worker commits every few seconds, so a reading taken just before a
commit shows seconds of production that the worker has long processed. The controller therefore reads
the backlog at its floor, the smallest lag of the last `floor_s` seconds (right after the latest
commit), and the workers' drain rate over a longer `window_s` (several commits):

    behind_s = floor / drain rate     wall seconds of work the live map is behind (commit delay included)

Above the target the factor drops in proportion (at most halved per sample); below it the factor grows
by `growth` per sample, but never far beyond the speed the simulation really achieves (a simulation that
is itself the bottleneck must not wind the factor up to 1000). Without a reading (no group yet, broker
unavailable) or before the window spans a commit cycle, the factor holds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from schemas.limits import AUTO_LAG_TARGET_S, SPEED_FACTOR_MAX, SPEED_FACTOR_MIN

__all__ = ["AutoPacer", "LagSample", "PaceReading"]

_MAX_SAMPLES = 256  # the window is bounded by time, and this bounds it however fast samples come


@dataclass(frozen=True)
class LagSample:
    at_s: float           # wall clock (monotonic seconds) of the reading
    lag_records: int      # records the group is behind, over all its partitions
    committed_total: int  # sum of the group's committed offsets


@dataclass(frozen=True)
class PaceReading:
    """What the status shows of the controller's last decision."""

    factor: float
    lag_records: int | None  # the latest reading
    lag_s: float | None      # behind_s (see the module doc)
    drain_per_s: float | None


@dataclass
class AutoPacer:
    target_lag_s: float = AUTO_LAG_TARGET_S
    factor: float = 1.0
    floor: float = SPEED_FACTOR_MIN
    ceiling: float = SPEED_FACTOR_MAX
    window_s: float = 20.0  # the drain rate is measured over this long (several commits)
    floor_s: float = 8.0    # the backlog is the smallest lag over this long (at least one commit)
    growth: float = 1.15
    _samples: deque[LagSample] = field(default_factory=deque)
    last: PaceReading | None = None

    def __post_init__(self) -> None:
        self.factor = min(max(self.factor, self.floor), self.ceiling)
        self._samples = deque(maxlen=_MAX_SAMPLES)

    def drain_per_s(self) -> float | None:
        """Records per second the group committed over the window; None until it spans `floor_s`."""
        if len(self._samples) < 2:
            return None
        first, last = self._samples[0], self._samples[-1]
        elapsed = last.at_s - first.at_s
        if elapsed < self.floor_s:
            return None
        return max(0.0, (last.committed_total - first.committed_total) / elapsed)

    def backlog_floor(self) -> int | None:
        if not self._samples:
            return None
        newest = self._samples[-1].at_s
        return min(s.lag_records for s in self._samples if s.at_s >= newest - self.floor_s)

    def update(self, sample: LagSample | None, achieved_factor: float) -> float:
        """The factor to run at after this sample (None: no reading, hold)."""
        if sample is None:
            return self.factor
        if self._samples and sample.committed_total < self._samples[-1].committed_total:
            self._samples.clear()  # the group restarted (offsets went back): rates over the gap mean nothing
        self._samples.append(sample)
        while self._samples[-1].at_s - self._samples[0].at_s > self.window_s:
            self._samples.popleft()
        drain = self.drain_per_s()
        behind_s = self._behind_s(drain)
        if behind_s is not None:
            self.factor = self._next_factor(behind_s, achieved_factor)
        self.last = PaceReading(round(self.factor, 3), sample.lag_records, None if behind_s is None else round(behind_s, 3),
                                None if drain is None else round(drain, 1))
        return self.factor

    def _behind_s(self, drain: float | None) -> float | None:
        floor = self.backlog_floor()
        if floor == 0:
            return 0.0
        if drain is None or floor is None:
            return None  # not a commit cycle of samples yet: no decision
        return floor / drain if drain > 0 else float("inf")

    def _next_factor(self, behind_s: float, achieved: float) -> float:
        factor = self.factor
        if behind_s > self.target_lag_s:
            factor *= max(0.5, self.target_lag_s / behind_s)
        else:
            # Grow, but stay within reach of what the simulation achieves (it may be the slower side).
            factor = min(factor * self.growth, max(achieved, self.floor) * 1.5 + 1.0)
        return min(max(factor, self.floor), self.ceiling)
