"""The composition root of the streams workers: which topologies each worker role runs, wired explicitly.

`streams` (the library) builds a configured Faust app of a role with no agent; this module builds
the topologies into it and hands each the streams it consumes: the dedup topology's admitted streams
go to GPS windows and surge as typed arguments. It is also the `rideshare.streams` entry points
`app` and `bronze` that `faust -A streams.app[:bronze]` resolves, so the plain Faust CLI runs the same
composition as `rideshare worker`.
"""

from __future__ import annotations

from collections.abc import Iterable

import faust

from core.exceptions import RideshareError
from core.settings import Settings
from streams.app import WorkerRole, context_of, create_app
from topologies import DEFAULT_TOPOLOGIES, ROLE_OF, TopologyName, bronze, dedup, gps, surge

__all__ = ["UnknownTopologyError", "bronze_app", "build_worker_app", "parse_topologies", "realtime_app", "role_of"]


class UnknownTopologyError(RideshareError, ValueError):
    """A topology name that the registry does not have, or a mix that no single worker role runs."""


def parse_topologies(names: str) -> tuple[TopologyName, ...]:
    """`"gps,surge"` -> the topology names; an unknown one is an error naming the known ones."""
    parsed = []
    for name in (part.strip() for part in names.split(",")):
        if not name:
            continue
        try:
            parsed.append(TopologyName(name))
        except ValueError:
            raise UnknownTopologyError(f"unknown topology {name!r}; choose from: {', '.join(TopologyName)}") from None
    return tuple(parsed)


def role_of(topologies: Iterable[TopologyName]) -> WorkerRole:
    """The one worker role that runs these topologies (bronze has a role, and a consumer group, of its own)."""
    roles = {ROLE_OF[name] for name in topologies}
    if len(roles) != 1:
        raise UnknownTopologyError("bronze runs in a worker of its own (its own consumer group, so no other worker takes "
                                   "its partitions): start `rideshare worker --role bronze` beside the real-time workers")
    return WorkerRole(roles.pop())


def _build_realtime(app: faust.App, settings: Settings, wanted: set[TopologyName]) -> None:
    registry = context_of(app).registry
    dedup_topology, streams = dedup.build(app, settings)
    registry.add(dedup_topology)
    # surge subscribes to the GPS stream first: its signals are on the lockstep loop's critical path, the live map is not
    surge_topology = (surge.build(app, settings, trips=streams.trips, driver_status=streams.driver_status, pings=streams.gps)
                      if TopologyName.SURGE in wanted else None)
    if TopologyName.GPS in wanted:
        registry.add(gps.build(app, settings, pings=streams.gps))
    if surge_topology is not None:
        registry.add(surge_topology)


def build_worker_app(settings: Settings, *, role: WorkerRole | None = None, topologies: Iterable[TopologyName | str] | None = None,
                     web_port: int | None = None, app_id: str | None = None) -> faust.App:
    """A Faust app of one role with its topologies built in (not started).

    Without `topologies`, every topology of the role; without `role`, the role those topologies need."""
    names = parse_topologies(",".join(topologies)) if topologies is not None else None
    role = role or role_of(names or DEFAULT_TOPOLOGIES)
    wanted = set(names) if names else {name for name in TopologyName if ROLE_OF[name] == role}
    if role_of(wanted) != role:
        raise UnknownTopologyError(f"{', '.join(sorted(wanted))} do not run in a {role} worker")
    app = create_app(settings, role=role, web_port=web_port, app_id=app_id)
    if role == WorkerRole.REALTIME:
        _build_realtime(app, settings, wanted)
    else:
        context_of(app).registry.add(bronze.build(app, settings))
    return app


def realtime_app(settings: Settings) -> faust.App:
    """The app `faust -A streams.app` runs: dedup, GPS windows and surge."""
    return build_worker_app(settings, role=WorkerRole.REALTIME)


def bronze_app(settings: Settings) -> faust.App:
    """The app `faust -A streams.app:bronze` runs: bronze ingestion into Delta."""
    return build_worker_app(settings, role=WorkerRole.BRONZE)
