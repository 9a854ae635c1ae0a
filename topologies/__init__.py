"""Stateful stream topologies, one module each (dedup, GPS windows, surge, bronze), built on `streams`.

Each module exposes `build(app, settings, registry) -> Topology`; the composition root
(`rideshare.workers`) decides which ones a worker runs. Order matters: dedup builds the
deduplicated heads that GPS and surge consume.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DEFAULT_TOPOLOGIES", "TopologyName"]


class TopologyName(StrEnum):
    DEDUP = "dedup"
    GPS = "gps"
    SURGE = "surge"
    BRONZE = "bronze"


DEFAULT_TOPOLOGIES: tuple[TopologyName, ...] = tuple(TopologyName)
