"""`--speed auto`: the speed factor that keeps the real-time stream workers' backlog near a target.

Pure control logic (no I/O, no threads), fed once a second with lag samples read elsewhere
(agents_sim.lag): the group's records behind (end offsets minus committed offsets) and the sum of its
committed offsets. From them:

- production: the growth of the end offsets (records behind + committed) over the last `rate_s`;
- the backlog: workers commit every few seconds, so a reading taken just before a commit shows seconds
  of production they have long processed. The backlog is the smallest reading of the last `floor_s`
  (right after a commit); with no commit for `stall_s` it is the latest reading (a stalled worker). In
  wall seconds of production: `behind_s = backlog / production` (the workers' commit delay included);
- the trend, judged at each commit: the reading right after it against the one after the commit before.
  The backlog grows when that rose by more than a second of production (or a tenth of production per
  second, whichever is more: small counts are noisy).

Above the target the factor drops in proportion (at most halved per sample), while the backlog grows by
a fifth; otherwise it grows by `growth` per sample, but never
far beyond the speed the simulation really achieves (a simulation that is itself the bottleneck must not
wind the factor up to 1000). Without a reading (no group yet, broker unavailable) or before the first
commit cycle, the factor holds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from schemas.limits import AUTO_LAG_TARGET_S, SPEED_FACTOR_MAX, SPEED_FACTOR_MIN

__all__ = ["AutoPacer", "LagSample", "PaceReading"]

_MAX_SAMPLES = 256  # the windows are bounded by time, and this bounds them however fast samples come


@dataclass(frozen=True)
class LagSample:
    at_s: float           # wall clock (monotonic seconds) of the reading
    lag_records: int      # records the group is behind, over all its partitions
    committed_total: int  # sum of the group's committed offsets

    @property
    def end_total(self) -> int:
        return self.lag_records + self.committed_total


@dataclass(frozen=True)
class PaceReading:
    """What the status shows of the controller's last decision."""

    factor: float
    lag_records: int | None  # the latest reading
    lag_s: float | None      # behind_s (see the module doc)
    drain_per_s: float | None  # records per second the group committed over `rate_s`


@dataclass
class AutoPacer:
    target_lag_s: float = AUTO_LAG_TARGET_S
    factor: float = 1.0
    floor: float = SPEED_FACTOR_MIN
    ceiling: float = SPEED_FACTOR_MAX
    rate_s: float = 10.0   # production and drain are measured over this long (two commits or more)
    floor_s: float = 6.0   # the backlog is the smallest reading over this long (at least one commit)
    stall_s: float = 15.0  # no commit for this long while records wait: the workers are stalled
    growth: float = 1.15
    _samples: deque[LagSample] = field(default_factory=deque)
    _after_commits: deque[LagSample] = field(default_factory=deque)
    last: PaceReading | None = None

    def __post_init__(self) -> None:
        self.factor = min(max(self.factor, self.floor), self.ceiling)
        self._samples = deque(maxlen=_MAX_SAMPLES)
        self._after_commits = deque(maxlen=2)

    def _rate(self, value: str) -> float | None:
        """Growth per second of `value` (end_total or committed_total) over the last `rate_s`; None before a commit cycle."""
        if len(self._samples) < 2:
            return None
        last = self._samples[-1]
        first = next((s for s in self._samples if s.at_s >= last.at_s - self.rate_s), self._samples[0])
        elapsed = last.at_s - first.at_s
        if elapsed < self.rate_s / 2:
            return None
        return max(0.0, (getattr(last, value) - getattr(first, value)) / elapsed)

    def drain_per_s(self) -> float | None:
        return self._rate("committed_total")

    def update(self, sample: LagSample | None, achieved_factor: float) -> float:
        """The factor to run at after this sample (None: no reading, hold)."""
        if sample is None:
            return self.factor
        previous = self._samples[-1] if self._samples else None
        if previous is not None and sample.committed_total < previous.committed_total:
            self._samples.clear()  # the group restarted (offsets went back): rates over the gap mean nothing
            self._after_commits.clear()
            previous = None
        self._samples.append(sample)
        while self._samples[-1].at_s - self._samples[0].at_s > 2 * self.rate_s:
            self._samples.popleft()
        if previous is not None and sample.committed_total > previous.committed_total:
            self._after_commits.append(sample)
        behind_s, growing = self._backlog()
        if behind_s is not None:
            self.factor = self._next_factor(behind_s, growing, achieved_factor)
        drain = self.drain_per_s()
        self.last = PaceReading(round(self.factor, 3), sample.lag_records, None if behind_s is None else round(behind_s, 3),
                                None if drain is None else round(drain, 1))
        return self.factor

    def _backlog(self) -> tuple[float | None, bool]:
        """(behind_s, growing), or (None, False) when there is nothing to decide on yet."""
        latest = self._samples[-1]
        if latest.lag_records == 0:
            return 0.0, False
        production = self._rate("end_total")
        if production is None or not self._after_commits:
            return None, False
        after = self._after_commits[-1]
        if latest.at_s - after.at_s > self.stall_s:
            backlog = latest.lag_records
        else:
            backlog = min(s.lag_records for s in self._samples if s.at_s >= latest.at_s - self.floor_s)
        if production <= 0:
            return (0.0 if backlog == 0 else float("inf")), False
        growing = False  # judged once per commit, on the sample that shows it
        if len(self._after_commits) == 2 and after is latest:
            before = self._after_commits[0]
            rise = after.lag_records - before.lag_records
            growing = rise > max(production, 0.1 * production * (after.at_s - before.at_s))
        return backlog / production, growing

    def _next_factor(self, behind_s: float, growing: bool, achieved: float) -> float:
        factor = self.factor
        if behind_s > self.target_lag_s:
            factor *= max(0.5, self.target_lag_s / behind_s)
        elif growing:
            factor *= 0.8
        else:
            # Grow, but stay within reach of what the simulation achieves (it may be the slower side).
            factor = min(factor * self.growth, max(achieved, self.floor) * 1.5 + 1.0)
        return min(max(factor, self.floor), self.ceiling)
