"""The composition root of the streams worker: which topologies a Faust app runs.

`streams` (the library) builds a configured Faust app with no agent; this module adds the
topologies. It is also the `rideshare.streams` entry point `app` that `faust -A streams.app`
resolves, so the plain Faust CLI runs the same composition as `rideshare worker`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import faust

from core.exceptions import RideshareError
from core.settings import Settings
from streams.app import context_of, create_app
from streams.graph import Topology, TopologyRegistry
from topologies import DEFAULT_TOPOLOGIES, TopologyName, bronze, dedup, gps, surge

__all__ = ["TOPOLOGY_BUILDERS", "UnknownTopologyError", "build_worker_app", "default_app", "parse_topologies"]

TopologyBuilder = Callable[[faust.App, Settings, TopologyRegistry], Topology]

TOPOLOGY_BUILDERS: dict[TopologyName, TopologyBuilder] = {
    TopologyName.DEDUP: dedup.build,
    TopologyName.GPS: gps.build,
    TopologyName.SURGE: surge.build,
    TopologyName.BRONZE: bronze.build,
}


class UnknownTopologyError(RideshareError, ValueError):
    """A topology name that the registry does not have."""


def parse_topologies(names: str) -> tuple[TopologyName, ...]:
    """`"dedup,gps"` -> the topology names; an unknown one is an error naming the known ones."""
    parsed = []
    for name in (part.strip() for part in names.split(",")):
        if not name:
            continue
        try:
            parsed.append(TopologyName(name))
        except ValueError:
            raise UnknownTopologyError(f"unknown topology {name!r}; choose from: {', '.join(TopologyName)}") from None
    return tuple(parsed)


def build_worker_app(settings: Settings, *, topologies: Iterable[TopologyName | str] = DEFAULT_TOPOLOGIES,
                     app_id: str | None = None, web_port: int | None = None) -> faust.App:
    """A Faust app with `topologies` built into it, in registry order (not started)."""
    wanted = set(parse_topologies(",".join(topologies)))
    app = create_app(settings, app_id=app_id, web_port=web_port)
    registry = context_of(app).registry
    for name, builder in TOPOLOGY_BUILDERS.items():
        if name in wanted:
            registry.add(builder(app, settings, registry))
    return app


def default_app(settings: Settings) -> faust.App:
    """The app `faust -A streams.app` runs: every topology."""
    return build_worker_app(settings)
