"""The demand heatmap drivers see in the app: recent requests per zone, fading, over a static prior."""

from __future__ import annotations

from agents_sim.params import DriverParams
from schemas.zones import ZoneIndex

__all__ = ["DemandHeatmap"]


class DemandHeatmap:
    def __init__(self, zones: ZoneIndex, params: DriverParams) -> None:
        self.recent: dict[str, float] = {}  # zone id -> decayed count of recent requests
        self._decay = params.heat_decay
        # a prior from the static demand weight, so a zone with no recent request is not a desert
        self._prior = {z.zone_id: params.heat_prior_requests * z.demand_weight for z in zones.zones}

    def note_request(self, zone_id: str) -> None:
        self.recent[zone_id] = self.recent.get(zone_id, 0.0) + 1.0

    def decay(self) -> None:
        """Called every `DriverParams.heat_decay_s` simulated seconds: recent requests fade."""
        for zone_id in list(self.recent):
            self.recent[zone_id] *= self._decay

    def heat(self, zone_id: str) -> float:
        return self.recent.get(zone_id, 0.0) + self._prior[zone_id]
