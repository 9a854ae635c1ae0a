"""A fixed-bin histogram: the bounded-memory stand-in for a list of millions of values.

Count, sum, min and max are exact; quantiles are interpolated inside one bin, so they are exact to
within one bin width (the widths chosen by the report are far below the precision of any band).
"""

from __future__ import annotations

import math

__all__ = ["Histogram"]


class Histogram:
    """Values on [0, upper) in bins of `bin_width`; larger values go to one overflow bin, negative ones to bin 0."""

    __slots__ = ("_counts", "bin_width", "count", "maximum", "minimum", "overflow", "total", "upper")

    def __init__(self, *, bin_width: float, upper: float) -> None:
        if bin_width <= 0 or upper <= bin_width:
            raise ValueError(f"need 0 < bin_width < upper, got bin_width={bin_width}, upper={upper}")
        self.bin_width = bin_width
        self.upper = upper
        self._counts = [0] * math.ceil(upper / bin_width)
        self.overflow = 0
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value < self.minimum:
            self.minimum = value
        if value > self.maximum:
            self.maximum = value
        index = int(value / self.bin_width)
        if index >= len(self._counts):
            self.overflow += 1
        else:
            self._counts[max(index, 0)] += 1

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 ≤ q ≤ 1), interpolated linearly inside its bin and clamped to [min, max]."""
        if not self.count:
            return None
        rank = q * self.count
        seen = 0
        for index, in_bin in enumerate(self._counts):
            if in_bin and seen + in_bin >= rank:
                value = (index + (rank - seen) / in_bin) * self.bin_width
                return min(max(value, self.minimum), self.maximum)
            seen += in_bin
        return self.maximum  # the quantile falls among the overflow values; their largest is the best bound we keep

    def count_at_least(self, threshold: float) -> int:
        """How many values are ≥ threshold (to the nearest bin edge, overflow included)."""
        first = math.ceil(threshold / self.bin_width - 1e-9)
        return sum(self._counts[max(first, 0):]) + self.overflow

    def rebinned(self, bin_width: float, upper: float) -> list[tuple[float, int]]:
        """(left edge, count) pairs on coarser bins for a plot; values ≥ upper land in the last bin."""
        edges = math.ceil(upper / bin_width)
        counts = [0] * edges
        for index, in_bin in enumerate(self._counts):
            if in_bin:
                counts[min(int(index * self.bin_width / bin_width + 1e-9), edges - 1)] += in_bin
        counts[-1] += self.overflow
        return [(i * bin_width, c) for i, c in enumerate(counts)]
