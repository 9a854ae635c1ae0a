"""Running counters of a simulation (what the runtime's metrics and the CLI summary show)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SimStats", "ZoneStats"]


@dataclass(slots=True)
class ZoneStats:
    requests: int = 0
    completed: int = 0
    cancelled: int = 0
    no_drivers: int = 0


@dataclass(slots=True)
class SimStats:
    requests: int = 0
    completed: int = 0
    no_drivers: int = 0
    surge_refusals: int = 0
    offers: int = 0
    cancelled: dict[str, int] = field(default_factory=dict)  # "<by>:<reason>" -> count
    zones: dict[str, ZoneStats] = field(default_factory=dict)
    fares: list[float] = field(default_factory=list)

    def on_trip_event(self, event_type: str, zone_id: str, cancelled_by: str | None, cancel_reason: str | None) -> None:
        if event_type == "offer_sent":
            self.offers += 1
            return
        if event_type not in ("requested", "completed", "cancelled", "no_drivers_available"):
            return
        zone = self.zones.get(zone_id)
        if zone is None:
            zone = self.zones[zone_id] = ZoneStats()
        if event_type == "requested":
            self.requests += 1
            zone.requests += 1
        elif event_type == "completed":
            self.completed += 1
            zone.completed += 1
        elif event_type == "cancelled":
            key = f"{cancelled_by}:{cancel_reason}"
            self.cancelled[key] = self.cancelled.get(key, 0) + 1
            zone.cancelled += 1
        else:
            self.no_drivers += 1
            zone.no_drivers += 1

    def overview(self) -> dict[str, object]:
        cancelled = sum(self.cancelled.values())
        by_rider = sum(v for k, v in self.cancelled.items() if k.startswith("rider:"))
        by_driver = sum(v for k, v in self.cancelled.items() if k.startswith("driver:"))
        fares = sorted(self.fares)
        return {
            "requests": self.requests, "completed": self.completed, "cancelled": cancelled,
            "cancelled_by_rider": by_rider, "cancelled_by_driver": by_driver, "no_drivers_available": self.no_drivers,
            "surge_refusals": self.surge_refusals, "offers": self.offers,
            "completion_rate": round(self.completed / self.requests, 4) if self.requests else None,
            "median_fare_brl": fares[len(fares) // 2] if fares else None,
            "cancel_reasons": dict(sorted(self.cancelled.items())),
        }
