"""Running counters of a simulation (what the runtime's metrics and the CLI summary show).

Every structure here is bounded however long the run: fares go into a fixed-width histogram (a
streaming median, never a growing list), and the keyed counters (cancel reasons, zones) stop adding
keys at a cap and count the rest under `OTHER`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["OTHER", "FareHistogram", "SimStats", "ZoneStats"]

OTHER = "other"
MAX_CANCEL_KEYS = 64   # "<by>:<reason>" pairs: a few dozen exist
MAX_ZONE_KEYS = 1_024  # the zone model has 96 districts


@dataclass(slots=True)
class ZoneStats:
    requests: int = 0
    completed: int = 0
    cancelled: int = 0
    no_drivers: int = 0


@dataclass(slots=True)
class FareHistogram:
    """Fares in `bin_brl` bins from 0 to `max_brl` (higher fares land in the last bin): O(1) per fare, fixed
    memory, and a median within half a bin of the exact one (linear interpolation inside the bin). The
    count and the total are exact (the total sums the fares in the order they came, as `sum()` would)."""

    bin_brl: float = 0.25
    max_brl: float = 500.0
    count: int = 0
    total_brl: float = 0.0
    bins: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.bins:
            self.bins = [0] * int(self.max_brl / self.bin_brl)

    def add(self, fare_brl: float) -> None:
        index = min(max(int(fare_brl / self.bin_brl), 0), len(self.bins) - 1)
        self.bins[index] += 1
        self.count += 1
        self.total_brl += fare_brl

    def quantile(self, q: float) -> float | None:
        if self.count == 0:
            return None
        rank = q * self.count
        seen = 0
        for index, n in enumerate(self.bins):
            if n and seen + n >= rank:
                return round((index + (rank - seen) / n) * self.bin_brl, 2)
            seen += n
        return round(len(self.bins) * self.bin_brl, 2)


def _counted_key(keys: dict[str, object], key: str, cap: int) -> str:
    return key if key in keys or len(keys) < cap else OTHER


@dataclass(slots=True)
class SimStats:
    requests: int = 0
    completed: int = 0
    no_drivers: int = 0
    surge_refusals: int = 0
    offers: int = 0
    cancelled: dict[str, int] = field(default_factory=dict)  # "<by>:<reason>" -> count
    zones: dict[str, ZoneStats] = field(default_factory=dict)
    fares: FareHistogram = field(default_factory=FareHistogram)

    def add_fare(self, fare_brl: float) -> None:
        self.fares.add(fare_brl)

    def on_trip_event(self, event_type: str, zone_id: str, cancelled_by: str | None, cancel_reason: str | None) -> None:
        if event_type == "offer_sent":
            self.offers += 1
            return
        if event_type not in ("requested", "completed", "cancelled", "no_drivers_available"):
            return
        zone_key = _counted_key(self.zones, zone_id, MAX_ZONE_KEYS)
        zone = self.zones.get(zone_key)
        if zone is None:
            zone = self.zones[zone_key] = ZoneStats()
        if event_type == "requested":
            self.requests += 1
            zone.requests += 1
        elif event_type == "completed":
            self.completed += 1
            zone.completed += 1
        elif event_type == "cancelled":
            key = _counted_key(self.cancelled, f"{cancelled_by}:{cancel_reason}", MAX_CANCEL_KEYS)
            self.cancelled[key] = self.cancelled.get(key, 0) + 1
            zone.cancelled += 1
        else:
            self.no_drivers += 1
            zone.no_drivers += 1

    def overview(self) -> dict[str, object]:
        cancelled = sum(self.cancelled.values())
        by_rider = sum(v for k, v in self.cancelled.items() if k.startswith("rider:"))
        by_driver = sum(v for k, v in self.cancelled.items() if k.startswith("driver:"))
        return {
            "requests": self.requests, "completed": self.completed, "cancelled": cancelled,
            "cancelled_by_rider": by_rider, "cancelled_by_driver": by_driver, "no_drivers_available": self.no_drivers,
            "surge_refusals": self.surge_refusals, "offers": self.offers,
            "completion_rate": round(self.completed / self.requests, 4) if self.requests else None,
            "median_fare_brl": self.fares.quantile(0.5),
            "cancel_reasons": dict(sorted(self.cancelled.items())),
        }
