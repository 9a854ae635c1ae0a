"""GPS stream quality estimated from the pings alone (no ground truth): ping interval, noise σ, outliers.

Method. For three consecutive pings p0, p1, p2 of one entity moving on a straight line at constant
speed, the true position at t1 is the time-weighted interpolation of the true positions at t0 and t2.
The residual r = p1 − interp(p0, p2) is then pure noise: with independent per-axis errors of σ and
the midpoint weights (½, ½), each axis of r has variance σ²(1 + ¼ + ¼) = 1.5 σ². So

    σ = 1.4826 · MAD(r_axis) / √1.5      (MAD about 0: the residual is symmetric)

is a robust per-axis estimate of σ (the normal-equivalent of the median absolute deviation). Triples
are used only on straight, steady stretches: both gaps ≤ 10 s, heading change ≤ 15°, speed change
≤ 10 km/h; a turn or a stop-start would otherwise look like noise.

Outliers. A ping that is off by D metres gives its own triple a residual ≈ D and each neighbour's
triple ≈ D/2, so a ping is an outlier candidate when its residual is the local maximum of its
neighbours' and exceeds 30 m; it is counted as an outlier when the residual also exceeds 3.5 times the
residual's own noise scale (√1.5·σ, known only at the end), so plain noise at σ = 10 m is not
mistaken for outliers (Rayleigh tail beyond 3.5: 0.2 %). The band speaks of the dense core (Paulista,
Faria Lima, Centro): the outlier share is taken over pings inside `DENSE_CORE`.

Memory: the last three pings and two residuals per entity, and fixed-bin histograms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from agents_sim.report.histogram import Histogram

__all__ = ["DENSE_CORE", "GpsNoiseEstimator", "GpsQuality"]

M_PER_DEG_LAT = 111_195.0  # metres per degree of latitude on a sphere of radius 6,371 km
MAX_GAP_MS = 10_000
MAX_HEADING_CHANGE_DEG = 15.0
MAX_SPEED_CHANGE_KMH = 10.0
MOVING_KMH = 1.0
OUTLIER_MIN_M = 30.0
OUTLIER_NOISE_MULTIPLE = 3.5
MAD_TO_SIGMA = 1.4826
RESIDUAL_VARIANCE_FACTOR = 1.5

# (name, lat, lon, radius_m): the three high-rise areas named by the band, as circles around their axes.
# Approximate on purpose: an analyst draws such a core by hand; the districts are Bela Vista/Consolação
# (Av. Paulista, ~2.8 km long), Itaim Bibi/Pinheiros (Av. Brig. Faria Lima) and Sé/República (Centro).
DENSE_CORE: tuple[tuple[str, float, float, float], ...] = (
    ("Paulista", -23.5614, -46.6559, 1_600.0),
    ("Faria Lima", -23.5770, -46.6870, 1_600.0),
    ("Centro", -23.5455, -46.6360, 1_200.0),
)


# a bounding box around the circles (with margin) answers "no" cheaply for the far more numerous pings elsewhere
_CORE_BOX = (
    min(lat - r / M_PER_DEG_LAT for _, lat, _, r in DENSE_CORE), max(lat + r / M_PER_DEG_LAT for _, lat, _, r in DENSE_CORE),
    min(lon - 1.2 * r / M_PER_DEG_LAT for _, _, lon, r in DENSE_CORE), max(lon + 1.2 * r / M_PER_DEG_LAT for _, _, lon, r in DENSE_CORE),
)


def in_dense_core(lat: float, lon: float) -> bool:
    if not (_CORE_BOX[0] <= lat <= _CORE_BOX[1] and _CORE_BOX[2] <= lon <= _CORE_BOX[3]):
        return False
    for _name, core_lat, core_lon, radius_m in DENSE_CORE:
        dy = (lat - core_lat) * M_PER_DEG_LAT
        dx = (lon - core_lon) * M_PER_DEG_LAT * math.cos(math.radians(core_lat))
        if dx * dx + dy * dy <= radius_m * radius_m:
            return True
    return False


@dataclass(frozen=True)
class GpsQuality:
    pings: int
    moving_interval_median_s: float | None
    moving_interval_p90_s: float | None
    sigma_m: float | None
    residuals: int
    core_pings_checked: int
    core_outliers: int
    outlier_threshold_m: float | None

    @property
    def core_outlier_share(self) -> float | None:
        return self.core_outliers / self.core_pings_checked if self.core_pings_checked else None


class _Track:
    """The recent past of one entity: up to three pings and the residuals of the last two triples."""

    __slots__ = ("pending", "pings", "prev_residual")

    def __init__(self) -> None:
        self.pings: list[tuple[int, float, float, float, float]] = []  # (t_ms, lat, lon, heading, speed)
        self.prev_residual = 0.0
        # the last triple's centre waiting for its successor's residual: (residual_m, in_core) or None
        self.pending: tuple[float, bool] | None = None


def _offset_m(t0: int, lat0: float, lon0: float, t1: int, lat1: float, lon1: float,
              t2: int, lat2: float, lon2: float) -> tuple[float, float] | None:
    """(east, north) metres from the time-interpolation of p0 → p2 at t1 to p1; None if a gap is too long."""
    if not (0 < t1 - t0 <= MAX_GAP_MS and 0 < t2 - t1 <= MAX_GAP_MS):
        return None
    w = (t1 - t0) / (t2 - t0)
    dx = (lon1 - (lon0 + w * (lon2 - lon0))) * M_PER_DEG_LAT * math.cos(math.radians(lat1))
    dy = (lat1 - (lat0 + w * (lat2 - lat0))) * M_PER_DEG_LAT
    return dx, dy


class GpsNoiseEstimator:
    """Streaming fold over gps_ping records (any order across entities, time order within one)."""

    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}
        self.pings = 0
        self.moving_intervals_s = Histogram(bin_width=0.01, upper=120.0)
        self.residual_axis_m = Histogram(bin_width=0.05, upper=500.0)
        # local-maximum residuals above OUTLIER_MIN_M of dense-core pings; the final threshold is applied at the end
        self.core_candidates_m = Histogram(bin_width=0.25, upper=2_000.0)
        self.core_checked = 0

    def add(self, ping: dict[str, Any]) -> None:
        self.pings += 1
        track = self._tracks.get(ping["entity_id"])
        if track is None:
            track = self._tracks[ping["entity_id"]] = _Track()
        t = ping["event_time"]
        point = (t, ping["lat"], ping["lon"], ping["heading_deg"], ping["speed_kmh"])
        pings = track.pings
        if pings and t - pings[-1][0] > 0 and point[4] >= MOVING_KMH and pings[-1][4] >= MOVING_KMH:
            self.moving_intervals_s.add((t - pings[-1][0]) / 1000.0)
        pings.append(point)
        if len(pings) > 3:
            del pings[0]
        if len(pings) == 3:
            self._fold_triple(track)

    def _fold_triple(self, track: _Track) -> None:
        (t0, lat0, lon0, h0, v0), (t1, lat1, lon1, _h1, _v1), (t2, lat2, lon2, h2, v2) = track.pings
        residual: float | None = None
        offset = _offset_m(t0, lat0, lon0, t1, lat1, lon1, t2, lat2, lon2)
        if offset is not None and abs((h2 - h0 + 180.0) % 360.0 - 180.0) <= MAX_HEADING_CHANGE_DEG \
                and abs(v2 - v0) <= MAX_SPEED_CHANGE_KMH:
            self.residual_axis_m.add(abs(offset[0]))
            self.residual_axis_m.add(abs(offset[1]))
            residual = math.hypot(*offset)
        # decide the previous centre now that its successor's residual is known
        if track.pending is not None:
            previous, was_core = track.pending
            successor = residual if residual is not None else 0.0
            if was_core and previous > OUTLIER_MIN_M and previous >= successor:
                self.core_candidates_m.add(previous)
        if residual is None:
            track.pending = None
            track.prev_residual = 0.0
            return
        core = in_dense_core(lat1, lon1)
        if core:
            self.core_checked += 1
        track.pending = (residual, core) if residual >= track.prev_residual else (residual, False)
        track.prev_residual = residual

    def result(self) -> GpsQuality:
        # centres still pending have no successor: they are judged against their predecessor only
        unfinished = [track.pending[0] for track in self._tracks.values()
                      if track.pending is not None and track.pending[1] and track.pending[0] > OUTLIER_MIN_M]
        mad = self.residual_axis_m.quantile(0.5)
        sigma = MAD_TO_SIGMA * mad / math.sqrt(RESIDUAL_VARIANCE_FACTOR) if mad is not None else None
        threshold = max(OUTLIER_MIN_M, OUTLIER_NOISE_MULTIPLE * math.sqrt(RESIDUAL_VARIANCE_FACTOR) * sigma) if sigma else None
        return GpsQuality(
            pings=self.pings,
            moving_interval_median_s=self.moving_intervals_s.quantile(0.5),
            moving_interval_p90_s=self.moving_intervals_s.quantile(0.9),
            sigma_m=sigma,
            residuals=self.residual_axis_m.count // 2,
            core_pings_checked=self.core_checked,
            core_outliers=(self.core_candidates_m.count_at_least(threshold) + sum(r >= threshold for r in unfinished)
                           if threshold is not None else 0),
            outlier_threshold_m=threshold,
        )
