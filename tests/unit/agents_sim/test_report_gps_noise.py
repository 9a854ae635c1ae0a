"""GPS noise, outliers and ping interval estimated from synthetic pings with known noise."""

from __future__ import annotations

import math
import random

import pytest

from agents_sim.report.gps_noise import DENSE_CORE, M_PER_DEG_LAT, GpsNoiseEstimator, in_dense_core

PAULISTA = DENSE_CORE[0][1:3]
START_MS = 1_772_420_400_000


def _ping(entity: str, t_ms: int, lat: float, lon: float, heading: float, speed: float) -> dict[str, object]:
    return {"entity_id": entity, "event_time": t_ms, "lat": lat, "lon": lon, "heading_deg": heading, "speed_kmh": speed}


def _drive_east(estimator: GpsNoiseEstimator, rng: random.Random, *, entities: int, pings: int, sigma_m: float,
                outlier_p: float = 0.0, interval_s: int = 2, speed_ms: float = 5.0) -> None:
    """Entities driving east through the Paulista core at constant speed, with per-axis gaussian noise."""
    lat0, lon0 = PAULISTA
    m_lon = M_PER_DEG_LAT * math.cos(math.radians(lat0))
    for e in range(entities):
        north = rng.uniform(-300, 300)
        for i in range(pings):
            east = -1_000 + i * interval_s * speed_ms
            dn, de = rng.gauss(0, sigma_m), rng.gauss(0, sigma_m)
            if rng.random() < outlier_p:
                angle, size = rng.uniform(0, 2 * math.pi), rng.uniform(30, 100)
                dn, de = dn + size * math.sin(angle), de + size * math.cos(angle)
            estimator.add(_ping(f"d{e}", START_MS + i * interval_s * 1000, lat0 + (north + dn) / M_PER_DEG_LAT,
                                lon0 + (east + de) / m_lon, 90.0, speed_ms * 3.6))


def test_paulista_faria_lima_and_centro_are_in_the_dense_core_and_the_east_zone_is_not() -> None:
    assert in_dense_core(-23.5614, -46.6559)
    assert in_dense_core(-23.5770, -46.6870)
    assert in_dense_core(-23.5455, -46.6360)
    assert not in_dense_core(-23.5400, -46.4700)  # Itaquera


@pytest.mark.parametrize("sigma_m", [5.0, 7.0, 10.0])
def test_noise_sigma_is_recovered_from_pings_alone(sigma_m: float) -> None:
    estimator = GpsNoiseEstimator()
    _drive_east(estimator, random.Random(3), entities=60, pings=180, sigma_m=sigma_m)
    quality = estimator.result()
    assert quality.sigma_m == pytest.approx(sigma_m, rel=0.08)
    assert quality.moving_interval_median_s == pytest.approx(2.0)
    assert quality.core_outlier_share is not None and quality.core_outlier_share < 0.003


def test_outliers_in_the_core_are_counted_once_each() -> None:
    estimator = GpsNoiseEstimator()
    _drive_east(estimator, random.Random(5), entities=120, pings=180, sigma_m=7.0, outlier_p=0.03)
    quality = estimator.result()
    assert 0.022 <= quality.core_outlier_share <= 0.034
    assert quality.sigma_m == pytest.approx(7.0, rel=0.12)  # the MAD shrugs off 3 % outliers


def test_turns_and_parked_pings_are_not_mistaken_for_noise() -> None:
    estimator = GpsNoiseEstimator()
    lat0, lon0 = PAULISTA
    m_lon = M_PER_DEG_LAT * math.cos(math.radians(lat0))
    north = east = 0.0
    for i in range(400):  # a noiseless zig-zag: 5 pings east, 5 pings north, ... (90° turns)
        heading = 90.0 if (i // 5) % 2 == 0 else 0.0
        estimator.add(_ping("zig", START_MS + i * 2000, lat0 + north / M_PER_DEG_LAT, lon0 + east / m_lon, heading, 36.0))
        east, north = (east + 20, north) if heading == 90.0 else (east, north + 20)
    for i in range(100):  # parked, pinging every 30 s
        estimator.add(_ping("parked", START_MS + i * 30_000, lat0, lon0, 0.0, 0.0))
    quality = estimator.result()
    assert quality.sigma_m == pytest.approx(0.0, abs=0.05)
    assert quality.core_outliers == 0
    assert quality.moving_interval_median_s == pytest.approx(2.0)


def test_no_pings_give_no_estimates() -> None:
    quality = GpsNoiseEstimator().result()
    assert quality.sigma_m is None and quality.core_outlier_share is None and quality.moving_interval_median_s is None
