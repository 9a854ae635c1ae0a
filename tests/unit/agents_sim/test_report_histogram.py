from __future__ import annotations

import random
import statistics

import pytest

from agents_sim.report.histogram import Histogram


def test_mean_count_min_max_are_exact() -> None:
    h = Histogram(bin_width=1.0, upper=100.0)
    for v in (3.2, 7.9, 150.0):
        h.add(v)
    assert h.count == 3
    assert h.mean == pytest.approx((3.2 + 7.9 + 150.0) / 3)
    assert (h.minimum, h.maximum, h.overflow) == (3.2, 150.0, 1)


def test_quantiles_are_within_one_bin_of_the_exact_ones() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(1.7, 0.7) for _ in range(20_000)]
    h = Histogram(bin_width=0.01, upper=300.0)
    for v in values:
        h.add(v)
    exact = statistics.quantiles(values, n=100)
    assert h.quantile(0.5) == pytest.approx(exact[49], abs=0.01)
    assert h.quantile(0.95) == pytest.approx(exact[94], abs=0.01)


def test_quantile_of_empty_histogram_is_none_and_of_overflow_is_the_maximum() -> None:
    h = Histogram(bin_width=1.0, upper=10.0)
    assert h.quantile(0.5) is None and h.mean is None
    h.add(50.0)
    h.add(70.0)
    assert h.quantile(0.99) == 70.0


def test_count_at_least_includes_overflow() -> None:
    h = Histogram(bin_width=0.5, upper=10.0)
    for v in (1.0, 4.0, 4.5, 9.9, 12.0):
        h.add(v)
    assert h.count_at_least(4.0) == 4
    assert h.count_at_least(4.2) == 3
    assert h.count_at_least(0.0) == 5


def test_rebinned_counts_add_up_and_land_in_coarse_bins() -> None:
    h = Histogram(bin_width=1.0, upper=100.0)
    for v in (0.5, 4.5, 5.5, 12.0, 400.0):
        h.add(v)
    bins = h.rebinned(5.0, 20.0)
    assert bins == [(0.0, 2), (5.0, 1), (10.0, 1), (15.0, 1)]


def test_bad_bins_are_rejected() -> None:
    with pytest.raises(ValueError):
        Histogram(bin_width=0.0, upper=1.0)
