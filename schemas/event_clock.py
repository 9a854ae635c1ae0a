"""Event-time clocks of a partition's runs, immune to outliers: the one rule bronze and the real-time
topologies share for event time (bronze dead-letters outliers, the real-time path counts and skips them).

A partition's watermark (the highest event time seen on it) drives window closing, surge steps and
dedup expiry. One event far ahead of its neighbours (a unit mix-up, a poison record, a clock jump)
must not move it, or every later event is "late" and the partition freezes. An event is an outlier
when it is more than `max_skew_ms` ahead of the run's watermark and, with `neighbours`, also more
than that ahead of the median of its batch: on a quiet partition (ratings at night) time legitimately
moves on by more than the skew between two events, and an event that its neighbours agree with is
not an outlier. The first batch of a run sets the watermark from its median, so a lone outlier cannot
even seed it. Outliers are reported to the caller (the real-time path counts and skips them).

Bronze needs the same decision on every re-delivery, so it uses the watermark alone (no batch
median: batches differ between deliveries) with a wider skew, and commits the clock with its data.

A run is one producer session (`schemas.markers.run_key`): a second simulation with the same seed
sends the same events again, and must start its own clock instead of being "late" against the first.
Clocks of runs no longer seen are dropped beyond `max_runs` per partition (bounded state).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["EventClocks", "RunClock", "initial_watermark"]


def initial_watermark(event_times: Sequence[int]) -> int:
    """The watermark a run's first batch on a partition starts from: its median event time."""
    return sorted(event_times)[len(event_times) // 2]


@dataclass
class RunClock:
    """The watermark of one run on one partition (None before its first event)."""

    max_skew_ms: int
    watermark: int | None = None
    neighbours: bool = True

    def admit(self, event_times: Sequence[int]) -> list[bool]:
        """Which of these event times (in partition order) are not outliers; advances the watermark."""
        if not event_times:
            return []
        watermark = self.watermark
        if watermark is None:
            watermark = self.watermark = initial_watermark(event_times)
        # with neighbours, an event the batch agrees with is never an outlier, however far the watermark lags
        floor = initial_watermark(event_times) + self.max_skew_ms if self.neighbours else None
        limit = watermark + self.max_skew_ms
        admitted = []
        for event_time in event_times:
            if event_time > limit and (floor is None or event_time > floor):
                admitted.append(False)
                continue
            admitted.append(True)
            if event_time > watermark:
                watermark = event_time
                limit = watermark + self.max_skew_ms
        self.watermark = watermark
        return admitted

    def advance_to(self, event_time: int) -> None:
        """Move the watermark to `event_time` if that is later (a step marker: no later event is earlier)."""
        if self.watermark is None or event_time > self.watermark:
            self.watermark = event_time


@dataclass
class EventClocks:
    """Run clocks of every partition, at most `max_runs` per partition (least recently used dropped)."""

    max_skew_ms: int
    max_runs: int = 4
    _clocks: dict[int, OrderedDict[str, RunClock]] = field(default_factory=dict)

    def clock(self, partition: int, run: str) -> RunClock:
        runs = self._clocks.setdefault(partition, OrderedDict())
        clock = runs.get(run)
        if clock is None:
            clock = runs[run] = RunClock(self.max_skew_ms)
            while len(runs) > self.max_runs:
                runs.popitem(last=False)
        else:
            runs.move_to_end(run)
        return clock

    def runs(self, partition: int) -> list[str]:
        return list(self._clocks.get(partition, ()))

    def forget(self, partitions: Sequence[int] | None = None) -> None:
        """Drop the clocks of `partitions` (all when None): they were revoked, or state is rebuilt."""
        if partitions is None:
            self._clocks.clear()
        for partition in partitions or ():
            self._clocks.pop(partition, None)
