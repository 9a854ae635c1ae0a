"""Contract of the live state in Redis: written by the GPS and surge topologies, read by the API.

Every key and channel is prefixed with the deployment's namespace (Settings.topic_namespace), so
runs that share a Redis never mix. Values are JSON objects (UTF-8).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LiveStateKeys"]


@dataclass(frozen=True)
class LiveStateKeys:
    namespace: str = ""

    @property
    def positions_geo(self) -> str:
        """GEO set of current positions; member = `<entity_type>:<entity_id>`."""
        return f"{self.namespace}live:positions:geo"

    @property
    def positions_latest(self) -> str:
        """HASH `<entity_type>:<entity_id>` -> JSON {entity_type, entity_id, lat, lon, heading_deg,
        speed_kmh, driver_status, trip_id, event_time, window_end, ping_count, distance_m}."""
        return f"{self.namespace}live:positions:latest"

    @property
    def positions_channel(self) -> str:
        """PUB/SUB channel; each message is JSON {"window_end": ms, "positions": [<latest objects>]},
        one message per closed GPS window (batched deltas)."""
        return f"{self.namespace}live:positions:deltas"

    @property
    def density_h3(self) -> str:
        """HASH H3 res-8 cell -> JSON {"drivers": n, "riders": n, "window_end": ms} for heatmaps."""
        return f"{self.namespace}live:density:h3r8"

    @property
    def surge_current(self) -> str:
        """HASH zone_id -> JSON {zone_id, surge_multiplier, demand_count, supply_count, window_end}."""
        return f"{self.namespace}live:surge:current"

    @property
    def surge_channel(self) -> str:
        """PUB/SUB channel; each message is one surge_current JSON object that changed."""
        return f"{self.namespace}live:surge:updates"
