"""Stateful stream topologies, one module each (dedup, GPS windows, surge, bronze), built on `streams`.

Each module exposes `build(app, settings, ...)` taking the streams it consumes as typed arguments;
the composition root (`rideshare.workers`) decides which ones a worker runs and wires them. Dedup is
the head of the real-time ones: GPS windows and surge consume its admitted streams. Bronze runs in a
worker role of its own.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

__all__ = ["DEFAULT_TOPOLOGIES", "ROLE_OF", "TopologyName"]


class TopologyName(StrEnum):
    DEDUP = "dedup"
    GPS = "gps"
    SURGE = "surge"
    BRONZE = "bronze"


DEFAULT_TOPOLOGIES: tuple[TopologyName, ...] = (TopologyName.DEDUP, TopologyName.GPS, TopologyName.SURGE)
# The worker role (streams.app.WorkerRole value) each topology runs in.
ROLE_OF = MappingProxyType({TopologyName.DEDUP: "realtime", TopologyName.GPS: "realtime", TopologyName.SURGE: "realtime",
                            TopologyName.BRONZE: "bronze"})
