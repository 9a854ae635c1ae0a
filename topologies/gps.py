"""GPS windowed aggregation: per entity, tumbling event-time windows of latest position and motion.

Pure part: `apply_ping` folds one ping into an entity's window state and `window_summary` turns a
closed window into the live-state object of schemas/live_state.py. Windows close on the partition's
watermark (highest event time seen on it), not on the wall clock: Faust's own windowed tables expire
by `time.time()` (faust/tables/base.py `_del_old_keys`), which would break event time at 100x speed.

Runtime part: one agent on the gps topic (deduplicated by the dedup head) taking events in batches.
Entity state lives in memory per partition and is written to a RocksDB table keyed by entity id
(the topic key, so state stays co-partitioned and `/positions/` routes to the owner) once per
entity per batch: the table is what a restarted or rebalanced worker recovers from (changelog).
Redis is written once per closed window boundary with one pipeline: GEO set, latest HASH, a batched
pub/sub delta, and H3 res-8 density counts updated by cell moves (a Lua script, so several workers
add into the same cells).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import faust
import h3
import redis.asyncio as aioredis
from faust.web import Request, Response, View

from core.settings import Settings
from schemas.catalog import topic_spec
from schemas.geo import haversine_m
from schemas.live_state import LiveStateKeys
from streams.batching import BATCH_MAX_EVENTS, BATCH_WITHIN_S, by_partition, on_partition_of, raise_if_cancelled
from streams.context import context_of
from streams.graph import Node, Topology, TopologyRegistry
from streams.tables import state_table
from streams.topics import catalog_topic
from topologies.dedup import dedup_heads

__all__ = ["DENSITY_RESOLUTION", "GpsWindows", "apply_ping", "build", "window_summary"]

log = logging.getLogger(__name__)

DENSITY_RESOLUTION = 8
_SUMMARY_FIELDS = ("entity_type", "entity_id", "lat", "lon", "heading_deg", "speed_kmh", "driver_status", "trip_id",
                   "event_time", "window_end", "ping_count", "distance_m")


def apply_ping(state: dict[str, Any] | None, ping: dict[str, Any], window_ms: int,
               closed_until: int = 0) -> tuple[dict[str, Any] | None, bool]:
    """Fold `ping` into the entity's state. Returns (new state, accepted); late pings are not accepted:
    those of a window older than the entity's current one, or of a window ending at or before
    `closed_until` (the partition's watermark: that window was already emitted).

    A ping of a later window starts a new window (the previous one is emitted by the watermark sweep);
    distance runs from the previous latest position, so it is continuous across windows.
    """
    event_time: int = ping["event_time"]
    start = event_time - event_time % window_ms
    if (state is not None and start < state["window_start"]) or start + window_ms <= closed_until:
        return state, False
    newest = state is None or event_time >= state["event_time"] or start > state["window_start"]
    moved = haversine_m(state["lat"], state["lon"], ping["lat"], ping["lon"]) if state is not None and newest else 0.0
    new = {
        "entity_type": ping["entity_type"], "entity_id": ping["entity_id"],
        "window_start": start, "window_end": start + window_ms,
        "ping_count": 0, "distance_m": 0.0, "cell": state["cell"] if state else None,
        "partition": state["partition"] if state else None,
    } if state is None or start > state["window_start"] else dict(state)
    new["ping_count"] += 1
    new["distance_m"] = round(new["distance_m"] + moved, 2)
    if newest:
        new.update(lat=ping["lat"], lon=ping["lon"], heading_deg=ping["heading_deg"], speed_kmh=ping["speed_kmh"],
                   driver_status=ping.get("driver_status"), trip_id=ping.get("trip_id"), event_time=event_time)
    return new, True


def window_summary(state: dict[str, Any]) -> dict[str, Any]:
    """The live-state object of a closed window (schemas/live_state.py positions_latest)."""
    return {name: state[name] for name in _SUMMARY_FIELDS}


def member_of(state: dict[str, Any]) -> str:
    return f"{state['entity_type']}:{state['entity_id']}"


@dataclass
class PartitionClock:
    """Watermark and open/idle window index of one partition (rebuilt from the table when lost)."""

    watermark: int = 0
    pending_density: list[tuple[str, str, int]] = field(default_factory=list)
    open_by_end: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    idle_by_end: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))

    def due(self, index: dict[int, set[str]], cutoff: int) -> list[str]:
        """Pop every key whose window end is <= cutoff."""
        keys: list[str] = []
        for end in sorted(end for end in index if end <= cutoff):
            keys.extend(index.pop(end))
        return keys


_DENSITY_SCRIPT = """
local window_end = ARGV[1]
for i = 2, #ARGV, 3 do
  local cell, kind, delta = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local raw = redis.call('HGET', KEYS[1], cell)
  local counts = raw and cjson.decode(raw) or {drivers = 0, riders = 0}
  counts[kind] = (counts[kind] or 0) + delta
  counts['window_end'] = tonumber(window_end)
  if (counts['drivers'] or 0) <= 0 and (counts['riders'] or 0) <= 0 then
    redis.call('HDEL', KEYS[1], cell)
  else
    redis.call('HSET', KEYS[1], cell, cjson.encode(counts))
  end
end
return 1
"""


@dataclass
class LiveStateBatch:
    """Redis changes of one sweep, written with a single pipeline."""

    window_end: int
    positions: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    density: list[tuple[str, str, int]] = field(default_factory=list)  # (cell, "drivers"|"riders", delta)

    def __bool__(self) -> bool:
        return bool(self.positions or self.removed or self.density)


class GpsWindows:
    """The GPS agent's logic: fold pings into in-memory entity state, sweep closed/idle windows into a
    batch, and `flush` a partition's changed entities to the table (once per entity per flush)."""

    def __init__(self, table: Any, window_ms: int, idle_expiry_ms: int, allowed_lateness_ms: int = 0) -> None:
        self.table = table
        self.window_ms = window_ms
        self.idle_expiry_ms = idle_expiry_ms
        self.allowed_lateness_ms = allowed_lateness_ms
        self.clocks: dict[int, PartitionClock] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self._changed: dict[int, set[str]] = defaultdict(set)
        self._expired: dict[int, set[str]] = defaultdict(set)

    def forget(self) -> None:
        """Drop the in-memory state (partitions were revoked): rebuilt from the table on next use."""
        self.clocks.clear()
        self.states.clear()
        self._changed.clear()
        self._expired.clear()

    def clock(self, partition: int) -> PartitionClock:
        if not self.clocks:  # first use, or partitions were revoked: one pass over the local table
            self.clocks, self.states = self._rebuild()
        clock = self.clocks.get(partition)
        if clock is None:
            clock = self.clocks[partition] = PartitionClock()
        return clock

    def _rebuild(self) -> tuple[dict[int, PartitionClock], dict[str, dict[str, Any]]]:
        states = {(key.decode() if isinstance(key, bytes) else key): state for key, state in self.table.items() if state}
        clocks: dict[int, PartitionClock] = {}
        for state in states.values():
            clock = clocks.setdefault(state["partition"], PartitionClock())
            clock.watermark = max(clock.watermark, state["event_time"])
        for entity, state in states.items():
            clock = clocks[state["partition"]]
            by_end = clock.open_by_end if state["window_end"] > clock.watermark else clock.idle_by_end
            by_end[state["window_end"]].add(entity)
        return clocks, states

    def flush(self, partition: int) -> None:
        """Write the partition's changed entities and delete its expired ones.

        Must run where table writes go to `partition` (inside its stream iteration, or
        `streams.batching.on_partition_of` an event of it)."""
        for key in self._expired.pop(partition, ()):
            self.table.pop(key, None)
        for key in self._changed.pop(partition, ()):
            self.table[key] = self.states[key]

    def add(self, ping: dict[str, Any], partition: int) -> tuple[bool, LiveStateBatch | None]:
        """Apply one ping; returns (accepted, the batch to write if the watermark closed windows)."""
        clock = self.clock(partition)
        previous = clock.watermark
        clock.watermark = max(previous, ping["event_time"])
        # Sweep before folding: a ping that opens the entity's next window must not overwrite the one it closes.
        crossed = clock.watermark // self.window_ms != previous // self.window_ms
        batch = self.sweep(clock, partition) if crossed else None
        key = ping["entity_id"]
        new, accepted = apply_ping(self.states.get(key), ping, self.window_ms, clock.watermark - self.allowed_lateness_ms)
        if accepted and new is not None:
            new["partition"] = partition
            cell = h3.latlng_to_cell(new["lat"], new["lon"], DENSITY_RESOLUTION)
            if cell != new["cell"]:  # density follows cell moves; sent with the next sweep
                kind = f"{new['entity_type']}s"
                if new["cell"]:
                    clock.pending_density.append((new["cell"], kind, -1))
                clock.pending_density.append((cell, kind, 1))
                new["cell"] = cell
            self.states[key] = new
            self._changed[partition].add(key)
            self._expired[partition].discard(key)
            clock.open_by_end[new["window_end"]].add(key)
        return accepted, batch

    def sweep(self, clock: PartitionClock, partition: int) -> LiveStateBatch:
        """Emit windows ended by the watermark and expire idle entities of `partition`.

        A window is closed when its end is at or before the watermark, so closing changes no state;
        only idle expiry deletes entities.
        """
        cutoff = clock.watermark - self.allowed_lateness_ms
        batch = LiveStateBatch(window_end=cutoff - cutoff % self.window_ms, density=clock.pending_density)
        clock.pending_density = []
        for key in clock.due(clock.open_by_end, cutoff):
            state = self.states.get(key)
            if state is None or state["window_end"] > cutoff:
                continue  # gone, or re-opened in a later window (indexed there)
            batch.positions.append(window_summary(state))
            clock.idle_by_end[state["window_end"]].add(key)
        idle_cutoff = clock.watermark - self.idle_expiry_ms
        for key in clock.due(clock.idle_by_end, idle_cutoff):
            state = self.states.get(key)
            if state is None or state["window_end"] > idle_cutoff:
                continue
            del self.states[key]
            self._changed[partition].discard(key)
            self._expired[partition].add(key)
            batch.removed.append(member_of(state))
            if state["cell"]:
                batch.density.append((state["cell"], f"{state['entity_type']}s", -1))
        return batch


async def write_live_state(redis: Any, keys: LiveStateKeys, batch: LiveStateBatch) -> None:
    pipe = redis.pipeline(transaction=False)
    if batch.positions:
        geo: list[Any] = []
        for position in batch.positions:
            geo.extend((position["lon"], position["lat"], member_of(position)))
        pipe.geoadd(keys.positions_geo, geo)
        pipe.hset(keys.positions_latest, mapping={member_of(p): json.dumps(p) for p in batch.positions})
        pipe.publish(keys.positions_channel, json.dumps({"window_end": batch.window_end, "positions": batch.positions}))
    if batch.removed:
        pipe.zrem(keys.positions_geo, *batch.removed)
        pipe.hdel(keys.positions_latest, *batch.removed)
    if batch.density:
        args: list[Any] = [batch.window_end]
        for cell, kind, delta in batch.density:
            args.extend((cell, kind, delta))
        pipe.eval(_DENSITY_SCRIPT, 1, keys.density_h3, *args)  # one small script per sweep: no EVALSHA cache to manage
    await pipe.execute()


def build(app: faust.App, settings: Settings, registry: TopologyRegistry) -> Topology:

    window_ms = settings.gps_window_ms
    keys = LiveStateKeys(settings.topic_namespace)
    metrics = context_of(app).metrics
    dedup = dedup_heads(registry)["gps"]
    spec = topic_spec("gps")
    table_name = f"gps-window-{window_ms}ms"
    topology = Topology("gps", f"per-entity tumbling {window_ms} ms event-time windows -> Redis live state")
    window_node = topology.operator("window", f"latest position, heading, speed, ping count, distance per {window_ms} ms",
                                    target=f"table {table_name}")
    sinks: list[Node] = [
        topology.sink("geo", "GEO set of current positions", target=keys.positions_geo),
        topology.sink("latest", "HASH of latest window per entity", target=keys.positions_latest),
        topology.sink("deltas", "pub/sub: one message per closed window", target=keys.positions_channel),
        topology.sink("density", f"H3 res-{DENSITY_RESOLUTION} counts per cell", target=keys.density_h3),
    ]
    # The gps source, decoding and dedup are declared by the dedup topology; this graph continues from them.
    topology.connect(dedup.node.id, window_node)
    for sink in sinks:
        topology.connect(window_node, sink)

    table = state_table(app, table_name, partitions=spec.partitions, help=f"open/last {window_ms} ms GPS window per entity")
    windows = GpsWindows(table, window_ms, settings.gps_idle_expiry_ms)
    processed = metrics.events_processed.labels("gps")
    ping_observers: list[Any] = registry.shared.setdefault("gps_ping_observers", [])
    source = catalog_topic(app, settings, "gps")

    @app.on_partitions_revoked.connect
    async def forget_clocks(sender: Any, revoked: Any, **kwargs: Any) -> None:
        windows.forget()

    @app.agent(source, name=f"{settings.topic_namespace}gps-windows", concurrency=1)
    async def gps_windows(stream: faust.StreamT) -> None:
        client = aioredis.Redis.from_url(settings.redis_url)
        # Batches are acked after they are processed; each partition's group is folded in memory, then
        # its table writes (dedup chunks, changed entities) are made once, before any await, so a
        # rebalance (which runs at an await) never sees half a group.
        async for events in stream.take_events(BATCH_MAX_EVENTS, within=BATCH_WITHIN_S):
            for partition, group in by_partition(events).items():
                admitted: list[dict[str, Any]] = []
                batches: list[LiveStateBatch] = []
                late = 0
                with on_partition_of(group[-1]):
                    for event in group:
                        ping = dedup.admit(event.value, partition)
                        if ping is None:
                            continue
                        admitted.append(ping)
                        accepted, batch = windows.add(ping, partition)
                        late += not accepted
                        if batch:
                            batches.append(batch)
                    dedup.flush(partition, str(group[-1].message.offset))
                    windows.flush(partition)
                window_node.record(events_in=len(admitted), events_out=len(admitted) - late)
                processed.inc(len(admitted))
                if late:
                    metrics.late_events.labels("gps").inc(late)
                for ping in admitted if ping_observers else ():
                    for observer in ping_observers:
                        await observer(ping)
                for batch in batches:
                    started = time.perf_counter()
                    await write_live_state(client, keys, batch)
                    metrics.redis_publish_seconds.labels("gps").observe(time.perf_counter() - started)
                    metrics.window_closes.labels("gps").inc(len(batch.positions))
                    for sink in sinks:
                        sink.record(events_in=len(batch.positions), events_out=len(batch.positions))
                    raise_if_cancelled()

    @app.page("/positions/{entity_id}/")
    class PositionView(View):
        @app.table_route(table=table, match_info="entity_id")
        async def get(self, request: Request, entity_id: str) -> Response:
            state = table.get(entity_id)
            if state is None:
                return self.json({"entity_id": entity_id, "error": "unknown entity on this worker"}, status=404)
            clock = windows.clocks.get(state["partition"])
            return self.json({**window_summary(state), "window_closed": clock is not None and state["window_end"] <= clock.watermark})

    return topology
