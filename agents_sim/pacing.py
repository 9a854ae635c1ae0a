"""`--speed auto`: the speed factor that keeps the real-time stream workers' backlog near a target.

Pure control logic (no I/O, no threads), fed with lag samples read elsewhere (agents_sim.lag):

- a sample is the group's records behind (end offsets minus committed offsets) and the sum of its
  committed offsets at one wall instant; the growth of the committed sum over a few samples is the
  workers' drain rate, and `lag_s = records behind / drain rate` is how many wall seconds of work the
  live map is behind the simulation;
- above the target the factor drops in proportion (at most halved per sample); well below it, the
  factor grows by a quarter per sample, but never far beyond the speed the simulation really achieves
  (a simulation that is itself the bottleneck must not wind the factor up to 1000);
- no sample (no group yet, broker unavailable): the factor holds.

Committed offsets move in steps of the workers' commit interval (1 s), so the lag a sample sees is at
least that much work: the target sits above it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from schemas.limits import AUTO_LAG_TARGET_S, SPEED_FACTOR_MAX, SPEED_FACTOR_MIN

__all__ = ["AutoPacer", "LagSample", "PaceReading"]


@dataclass(frozen=True)
class LagSample:
    at_s: float          # wall clock (monotonic seconds) of the reading
    lag_records: int     # records the group is behind, over all its partitions
    committed_total: int  # sum of the group's committed offsets


@dataclass(frozen=True)
class PaceReading:
    """What the status shows of the controller's last decision."""

    factor: float
    lag_records: int | None
    lag_s: float | None
    drain_per_s: float | None


@dataclass
class AutoPacer:
    target_lag_s: float = AUTO_LAG_TARGET_S
    factor: float = 1.0
    floor: float = SPEED_FACTOR_MIN
    ceiling: float = SPEED_FACTOR_MAX
    window: int = 5  # samples the drain rate is measured over
    _samples: deque[LagSample] = field(default_factory=deque)
    last: PaceReading | None = None

    def __post_init__(self) -> None:
        self._samples = deque(maxlen=self.window)
        self.factor = min(max(self.factor, self.floor), self.ceiling)

    def drain_per_s(self) -> float | None:
        if len(self._samples) < 2:
            return None
        first, last = self._samples[0], self._samples[-1]
        elapsed = last.at_s - first.at_s
        if elapsed <= 0:
            return None
        return max(0.0, (last.committed_total - first.committed_total) / elapsed)

    def update(self, sample: LagSample | None, achieved_factor: float) -> float:
        """The factor to run at after this sample (None: no reading, hold)."""
        if sample is None:
            return self.factor
        if self._samples and sample.committed_total < self._samples[-1].committed_total:
            self._samples.clear()  # the group restarted (offsets went back): rates over the gap mean nothing
        self._samples.append(sample)
        drain = self.drain_per_s()
        lag_s = self._lag_seconds(sample.lag_records, drain)
        if lag_s is not None:
            self.factor = self._next_factor(lag_s, achieved_factor)
        self.last = PaceReading(round(self.factor, 3), sample.lag_records, None if lag_s is None else round(lag_s, 3),
                                None if drain is None else round(drain, 1))
        return self.factor

    @staticmethod
    def _lag_seconds(lag_records: int, drain: float | None) -> float | None:
        if lag_records == 0:
            return 0.0
        if drain is None:
            return None  # one sample: no rate yet
        return lag_records / drain if drain > 0 else float("inf")

    def _next_factor(self, lag_s: float, achieved: float) -> float:
        factor = self.factor
        if lag_s > self.target_lag_s:
            factor *= max(0.5, self.target_lag_s / lag_s)
        elif lag_s < self.target_lag_s / 2:
            # Grow, but stay within reach of what the simulation achieves (it may be the slower side).
            factor = min(factor * 1.25, max(achieved, self.floor) * 1.5 + 1.0)
        return min(max(factor, self.floor), self.ceiling)
