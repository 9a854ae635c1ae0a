"""Stateful stream topologies, one module each, plugged into the Faust app by `streams.app.create_app`.

Every module exposes `build(app: faust.App, settings: Settings, registry: TopologyRegistry) -> Topology`.
The mapping below is the whole discovery mechanism: explicit, no scanning. Order matters: dedup
builds the deduplicated heads that GPS and surge consume.
"""

from __future__ import annotations

__all__ = ["DEFAULT_TOPOLOGIES", "TOPOLOGY_MODULES"]

TOPOLOGY_MODULES: dict[str, str] = {
    "dedup": "topologies.dedup",
    "gps": "topologies.gps",
    "surge": "topologies.surge",
    "bronze": "topologies.bronze",
}
DEFAULT_TOPOLOGIES: tuple[str, ...] = tuple(TOPOLOGY_MODULES)
