"""The demand curve: how many requests an average rider makes per hour at a given simulated time."""

from __future__ import annotations

from agents_sim.params import DemandParams

__all__ = ["DemandCurve"]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


class DemandCurve:
    """Request intensity relative to a flat week: `intensity(t)` averages 1.0 over a week of weekdays
    with factor 1, so `rides_per_week / 168 * intensity(t)` is a rider's hourly request rate."""

    def __init__(self, params: DemandParams, utc_offset_ms: int) -> None:
        self.params = params
        self._offset_ms = utc_offset_ms
        self.peak = max(params.hourly_share) * 24 * max(params.day_factor)

    def local_hour(self, t_ms: int) -> int:
        return ((t_ms + self._offset_ms) // HOUR_MS) % 24

    def weekday(self, t_ms: int) -> int:
        return ((t_ms + self._offset_ms) // DAY_MS + _EPOCH_WEEKDAY) % 7

    def intensity(self, t_ms: int) -> float:
        local = t_ms + self._offset_ms
        hour = (local // HOUR_MS) % 24
        day = (local // DAY_MS + _EPOCH_WEEKDAY) % 7
        return self.params.hourly_share[hour] * 24 * self.params.day_factor[day]
