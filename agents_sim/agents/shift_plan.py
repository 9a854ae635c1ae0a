"""Where the fleet's shifts are centred so that supply follows the work demand brings, hour by hour.

Drivers choose their hours by earnings, which follow demand (Cebrap; the apps' "busy hours" guidance),
but a shift lasts hours: supply at hour h is the sum of the shifts covering it. Drawing shift centres
in proportion to demand therefore smears supply over the neighbouring hours (early mornings get too
many drivers, the evening shoulder too few). This module solves for the centre distribution instead:

- the **target supply** at hour h is the driver time demand ties up, requests(h) × trip time(h) (trips
  take longer in the peaks' traffic: the hour's street speed), times `busy_hour_supply_factor` at the
  commute peaks and at night (0–5 h), where supply lags demand (the wait band: pickups 20–40 % longer
  at peaks and 0–5 h; few drivers choose the night);
- the **shift kernel** is the coverage of one shift around its centre, over the DNA's shift lengths
  and day-to-day variation; split-shift drivers' two fixed blocks are part of supply;
- the centre density is found by multiplicative (Richardson–Lucy) deconvolution of the target by the
  kernel on quarter-hour bins, over a circular day.

Pure functions, cached per parameter set (no SimPy, no I/O).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from agents_sim.params import DemandParams, DriverParams, TrafficParams

__all__ = ["BINS_PER_HOUR", "BUSY_HOURS", "ShiftPlan", "plan_shifts"]

BINS_PER_HOUR = 4
_BINS = 24 * BINS_PER_HOUR
# The hours of the wait band's "peaks and 0–5 h".
BUSY_HOURS = frozenset([*range(0, 5), *range(7, 10), *range(17, 20)])
_ITERATIONS = 80
_SAMPLES = 12  # grid points per random shift dimension when building the kernel


@dataclass(frozen=True)
class ShiftPlan:
    """The density of regular shifts' centres over the day (quarter-hour bins, sums to 1) and the target
    supply shape it was solved for (same bins, sums to 1)."""

    centre_density: tuple[float, ...]
    target_supply: tuple[float, ...]
    planned_supply: tuple[float, ...]  # what the solved centres plus split shifts give (sums to 1)

    def centre_hour(self, quantile: float) -> float:
        """The local hour (0..24) at this quantile of the centre distribution."""
        target = quantile % 1.0
        for i, weight in enumerate(self.centre_density):
            if target < weight:
                return (i + target / weight) / BINS_PER_HOUR
            target -= weight
        return 24.0 - 1e-6


def _uniform_grid(lo: float, hi: float) -> list[float]:
    return [lo + (hi - lo) * (k + 0.5) / _SAMPLES for k in range(_SAMPLES)]


def _block_kernel(lengths_h: list[float], jitters_h: list[tuple[float, float]]) -> list[float]:
    """Hours of coverage of each bin offset (from the centre bin, circular) by one block of these lengths
    (equally likely) whose centre moves by these (jitter, probability) day to day."""
    kernel = [0.0] * _BINS
    for length in lengths_h:
        for jitter, p in jitters_h:
            lo, hi = jitter - length / 2, jitter + length / 2
            weight = p / len(lengths_h)
            for b in range(math.floor(lo * BINS_PER_HOUR), math.ceil(hi * BINS_PER_HOUR)):
                left, right = b / BINS_PER_HOUR, (b + 1) / BINS_PER_HOUR
                kernel[b % _BINS] += max(0.0, min(hi, right) - max(lo, left)) * weight
    return kernel


def _support(kernel: list[float]) -> list[tuple[int, float]]:
    return [(j, k) for j, k in enumerate(kernel) if k]


def _convolve(density: list[float], support: list[tuple[int, float]]) -> list[float]:
    out = [0.0] * _BINS
    for i, d in enumerate(density):
        for j, k in support:
            out[(i + j) % _BINS] += d * k
    return out


def _correlate(values: list[float], support: list[tuple[int, float]]) -> list[float]:
    return [sum(values[(i + j) % _BINS] * k for j, k in support) for i in range(_BINS)]


def _normalised(values: list[float]) -> list[float]:
    total = sum(values)
    return [v / total for v in values]


@lru_cache(maxsize=16)
def plan_shifts(driver: DriverParams, demand: DemandParams, traffic: TrafficParams) -> ShiftPlan:
    work = [demand.hourly_share[h] / traffic.speed_kmh_by_hour[h] for h in range(24)]
    mean_work = sum(work) / 24
    # square-root staffing: the idle drivers an hour needs grow with the square root of its work, so quiet
    # hours need relatively more drivers than their work alone (pickups get long when few cars are about)
    per_hour = [(w + driver.supply_slack * (w * mean_work) ** 0.5) * (driver.busy_hour_supply_factor if h in BUSY_HOURS else 1.0)
                for h, w in enumerate(work)]
    target = _normalised([per_hour[b // BINS_PER_HOUR] for b in range(_BINS)])
    factor_lo, factor_w = driver.shift_hours_factor_low, driver.shift_hours_factor_width
    hours = [h * f for h in _uniform_grid(*driver.hours_per_day_range) for f in _uniform_grid(factor_lo, factor_lo + factor_w)]
    fixed, flexible = driver.fixed_shift_spread_h, driver.flexible_shift_spread_h
    flex = driver.flexible_share
    jitters = ([(j * fixed, (1 - flex) / _SAMPLES) for j in _uniform_grid(-0.5, 0.5)] +
               [(j * flexible, flex / _SAMPLES) for j in _uniform_grid(-0.5, 0.5)])
    regular = _block_kernel(hours, jitters)
    # split-shift drivers: two blocks of half their hours around the commute peaks
    split = driver.split_shift_share
    halves = [h / 2 for h in hours]
    split_jitters = [(j * 2 * driver.split_shift_jitter_h, 1 / _SAMPLES) for j in _uniform_grid(-0.5, 0.5)]
    split_block = _block_kernel(halves, split_jitters)
    split_supply = [0.0] * _BINS
    for centre_h in driver.split_shift_centres_h:
        centre = round(centre_h * BINS_PER_HOUR) % _BINS
        for j, k in enumerate(split_block):
            split_supply[(centre + j) % _BINS] += split * k
    regular_hours = (1 - split) * sum(regular)
    total = regular_hours + sum(split_supply)
    wanted = [max(t * total - s, 1e-9) for t, s in zip(target, split_supply, strict=True)]  # what regular shifts must give
    kernel = _support([k / sum(regular) for k in regular])
    density = _normalised(wanted)
    for _ in range(_ITERATIONS):
        made = _convolve(density, kernel)
        scale = sum(wanted) / sum(made)
        density = _normalised([d * c for d, c in zip(density, _correlate(
            [w / (m * scale) if m > 0 else 0.0 for w, m in zip(wanted, made, strict=True)], kernel), strict=True)])
    planned = [regular_hours * m + s for m, s in zip(_convolve(density, kernel), split_supply, strict=True)]
    return ShiftPlan(tuple(density), tuple(target), tuple(_normalised(planned)))
