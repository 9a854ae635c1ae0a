"""Small, fast spherical geometry on (lat, lon) degrees, good to a few metres at city scale."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from math import asin, cos, sin, sqrt

__all__ = [
    "EARTH_RADIUS_M",
    "bearing_deg",
    "encode_polyline",
    "haversine_m",
    "metres_per_degree",
    "offset_m",
]

EARTH_RADIUS_M = 6_371_008.8
_RAD = math.pi / 180.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1 = lat1 * _RAD
    p2 = lat2 * _RAD
    dp = p2 - p1
    dl = (lon2 - lon1) * _RAD
    a = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2  # module-level names: it runs for every GPS ping
    return 2 * EARTH_RADIUS_M * asin(min(1.0, sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    p1 = lat1 * _RAD
    p2 = lat2 * _RAD
    dl = (lon2 - lon1) * _RAD
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def metres_per_degree(lat: float) -> tuple[float, float]:
    """(metres per degree of latitude, metres per degree of longitude) around `lat`."""
    m_lat = EARTH_RADIUS_M * _RAD
    return m_lat, m_lat * math.cos(lat * _RAD)


def offset_m(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point `north_m` metres north and `east_m` metres east of (lat, lon)."""
    m_lat, m_lon = metres_per_degree(lat)
    return lat + north_m / m_lat, lon + east_m / m_lon


def _encode_value(value: int, out: list[str]) -> None:
    value = ~(value << 1) if value < 0 else value << 1
    while value >= 0x20:
        out.append(chr((0x20 | (value & 0x1F)) + 63))
        value >>= 5
    out.append(chr(value + 63))


def encode_polyline(points: Iterable[Sequence[float]]) -> str:
    """Google encoded polyline (precision 5) of (lat, lon) points."""
    out: list[str] = []
    prev_lat = prev_lon = 0
    for lat, lon in points:
        ilat = round(lat * 1e5)
        ilon = round(lon * 1e5)
        _encode_value(ilat - prev_lat, out)
        _encode_value(ilon - prev_lon, out)
        prev_lat, prev_lon = ilat, ilon
    return "".join(out)
