"""GPS windowed aggregation: per entity, tumbling event-time windows of latest position and motion.

Pure part: `EntityWindow.fold` folds one ping into an entity's window and `EntityWindow.summary`
turns a closed window into the live-state object of schemas/live_state.py. `GpsWindows` keeps the
entities of every partition and run with their window clocks (highest event time admitted, moved on
by step markers too) and sweeps closed and idle windows into a `LiveStateBatch`. Windows close on
event time, not on the wall clock: Faust's own windowed tables expire by `time.time()`
(faust/tables/base.py `_del_old_keys`), which would break event time at 100x speed.

Runtime part: a subscriber of the deduplicated GPS stream (topologies/dedup.py). Entity state lives in
memory and reaches a RocksDB table keyed by entity id (the topic key, so state stays co-partitioned
and `/positions/` routes to the owner) once per changed entity per checkpoint: the table is what a
restarted or rebalanced worker recovers from (changelog). Redis is written once per delivery of
batches, in one write: a pub/sub delta per closed window boundary, then the net change of the GEO set,
the latest HASH and the H3 res-8 density counts (cell moves, a Lua script, so several workers add into
the same cells).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import h3
import msgspec
import redis.asyncio as aioredis
from faust.web import Request, Response, View
from h3.api.basic_int import latlng_to_cell as cell_index_of
from redis.exceptions import RedisError

from core.settings import Settings
from schemas.catalog import topic_spec
from schemas.geo import haversine_m
from schemas.live_state import LiveStateKeys
from streams.batches import on_partition_of
from streams.context import context_of
from streams.graph import Node, Topology
from streams.redis_commands import RedisCommands
from streams.tables import learn_changelog_partitions, state_table
from topologies.dedup import AdmittedBatch, AdmittedStream

__all__ = ["DENSITY_RESOLUTION", "ClosedWindow", "EntityWindow", "GpsWindows", "LiveStateBatch", "build"]

log = logging.getLogger(__name__)

DENSITY_RESOLUTION = 8
_encode_json = msgspec.json.Encoder().encode


@dataclass(slots=True)
class EntityWindow:
    """One entity's open (or last) window: where it is and how it moved in [window_start, window_end)."""

    entity_type: str
    entity_id: str
    run: str
    partition: int
    window_start: int
    window_end: int
    event_time: int
    lat: float
    lon: float
    heading_deg: float
    speed_kmh: float
    driver_status: str | None
    trip_id: str | None
    ping_count: int = 1
    distance_m: float = 0.0
    cell: str | None = None
    cell_index: int = 0  # `cell` as H3's integer index, to compare with each ping's (not stored: derived)

    def fold(self, event_time: int, lat: float, lon: float, heading_deg: float, speed_kmh: float, driver_status: str | None,
             trip_id: str | None, window_ms: int, closed_until: int) -> bool:
        """Fold one ping in; False (state untouched) for a late ping: one of a window older than the
        current one, or of a window that ended at or before `closed_until` (already emitted).

        A ping of a later window starts that window (the previous one was emitted by the sweep);
        distance runs from the previous latest position, so it is continuous across windows."""
        start = event_time - event_time % window_ms
        if start < self.window_start or start + window_ms <= closed_until:
            return False
        if start > self.window_start:
            self.distance_m = round(haversine_m(self.lat, self.lon, lat, lon), 2)
            self.window_start, self.window_end, self.ping_count = start, start + window_ms, 1
        else:
            self.ping_count += 1
            if event_time < self.event_time:
                return True  # out of order inside the window: counted, the position stays the latest
            self.distance_m = round(self.distance_m + haversine_m(self.lat, self.lon, lat, lon), 2)
        self.event_time, self.lat, self.lon, self.heading_deg, self.speed_kmh = event_time, lat, lon, heading_deg, speed_kmh
        self.driver_status, self.trip_id = driver_status, trip_id
        return True

    @property
    def member(self) -> str:
        return f"{self.entity_type}:{self.entity_id}"

    def summary(self) -> dict[str, Any]:
        """The live-state object of a closed window (schemas/live_state.py positions_latest)."""
        return {"entity_type": self.entity_type, "entity_id": self.entity_id, "lat": self.lat, "lon": self.lon,
                "heading_deg": self.heading_deg, "speed_kmh": self.speed_kmh, "driver_status": self.driver_status,
                "trip_id": self.trip_id, "event_time": self.event_time, "window_end": self.window_end,
                "ping_count": self.ping_count, "distance_m": self.distance_m}

    def stored(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _STORED_FIELDS}

    @classmethod
    def from_stored(cls, state: dict[str, Any]) -> EntityWindow:
        return cls(**state)


_STORED_FIELDS = tuple(name for name in EntityWindow.__slots__ if name != "cell_index")  # type: ignore[attr-defined]  # slots=True


@dataclass
class WindowClock:
    """Watermark and open/idle window index of one run on one partition (rebuilt from the table when lost).

    The open index holds each entity under the end of the window it has open; the idle index holds each
    entity once, under the end of its latest closed window (`mark_idle` moves it), so it stays as large
    as the entities, not entities times the windows of the idle horizon."""

    watermark: int = 0
    pending_density: list[tuple[str, str, int]] = field(default_factory=list)
    open_by_end: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    idle_by_end: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    idle_end_of: dict[str, int] = field(default_factory=dict)  # entity -> its one entry in idle_by_end

    @staticmethod
    def due(index: dict[int, set[str]], cutoff: int) -> list[str]:
        """Pop every key whose window end is <= cutoff."""
        keys: list[str] = []
        for end in sorted(end for end in index if end <= cutoff):
            keys.extend(index.pop(end))
        return keys

    def mark_idle(self, key: str, window_end: int) -> None:
        """Index entity `key` for idle expiry from `window_end` on, in place of its earlier entry."""
        previous = self.idle_end_of.get(key)
        if previous == window_end:
            return
        if previous is not None:
            entries = self.idle_by_end.get(previous)
            if entries is not None:
                entries.discard(key)
                if not entries:
                    del self.idle_by_end[previous]
        self.idle_end_of[key] = window_end
        self.idle_by_end[window_end].add(key)

    def due_idle(self, cutoff: int) -> list[str]:
        """Pop every entity whose latest closed window ended at or before `cutoff`."""
        keys = self.due(self.idle_by_end, cutoff)
        for key in keys:
            del self.idle_end_of[key]
        return keys


class PositionSummary(msgspec.Struct):
    """The live-state object of a closed window (schemas/live_state.py positions_latest), as JSON is written."""

    entity_type: str
    entity_id: str
    lat: float
    lon: float
    heading_deg: float
    speed_kmh: float
    driver_status: str | None
    trip_id: str | None
    event_time: int
    window_end: int
    ping_count: int
    distance_m: float


class ClosedWindow(msgspec.Struct, frozen=True):
    """A window as the sweep closed it (entities keep changing after): its GEO member, point and JSON summary.

    One per closed window, so a Struct: several times cheaper to create than a NamedTuple."""

    entity_id: str
    member: str
    lon: float
    lat: float
    window_end: int
    summary_json: bytes


@dataclass
class LiveStateBatch:
    """Redis changes of one sweep, written with a single pipeline."""

    window_end: int
    positions: list[ClosedWindow] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    density: list[tuple[str, str, int]] = field(default_factory=list)  # (cell, "drivers"|"riders", delta)

    def __bool__(self) -> bool:
        return bool(self.positions or self.removed or self.density)


class GpsWindows:
    """Entities of every partition and run in memory, their window clocks, and what changed since the
    last checkpoint (written to `table` once per entity by `checkpoint`)."""

    def __init__(self, table: Any, window_ms: int, idle_expiry_ms: int, allowed_lateness_ms: int = 0) -> None:
        self.table = table
        self.window_ms = window_ms
        self.idle_expiry_ms = idle_expiry_ms
        self.allowed_lateness_ms = allowed_lateness_ms
        self.clocks: dict[tuple[int, str], WindowClock] = {}
        self.states: dict[str, EntityWindow] = {}
        self._rebuilt = False
        self._changed: dict[int, set[str]] = defaultdict(set)
        self._expired: dict[int, set[str]] = defaultdict(set)

    def forget(self) -> None:
        """Drop the in-memory state (partitions were revoked): rebuilt from the table on next use."""
        self.clocks.clear()
        self.states.clear()
        self._changed.clear()
        self._expired.clear()
        self._rebuilt = False

    def _ensure_rebuilt(self) -> None:
        if self._rebuilt:
            return
        self._rebuilt = True  # one pass over the local table (every assigned partition)
        for key, stored in self.table.items():
            if stored:
                self.states[key.decode() if isinstance(key, bytes) else key] = EntityWindow.from_stored(stored)
        for state in self.states.values():
            clock = self.clocks.setdefault((state.partition, state.run), WindowClock())
            clock.watermark = max(clock.watermark, state.event_time)
        for entity, state in self.states.items():
            clock = self.clocks[(state.partition, state.run)]
            if state.window_end > clock.watermark:
                clock.open_by_end[state.window_end].add(entity)
            else:
                clock.mark_idle(entity, state.window_end)

    def clock(self, partition: int, run: str) -> WindowClock:
        self._ensure_rebuilt()
        clock = self.clocks.get((partition, run))
        if clock is None:
            clock = self.clocks[(partition, run)] = WindowClock()
        return clock

    def fold(self, batch: AdmittedBatch) -> tuple[list[LiveStateBatch], int]:
        """Fold a partition's admitted pings in; returns (the sweeps to write to Redis, late pings)."""
        partition, window_ms = batch.partition, self.window_ms
        sweeps: list[LiveStateBatch] = []
        late = 0
        markers = iter(batch.markers)
        next_marker = next(markers, None)
        states, changed, expired = self.states, self._changed[partition], self._expired[partition]
        columns = zip(batch.runs, batch.column("event_time"), batch.column("entity_type"), batch.column("entity_id"),
                      batch.column("lat"), batch.column("lon"), batch.column("heading_deg"), batch.column("speed_kmh"),
                      batch.column("driver_status"), batch.column("trip_id"), strict=True)
        clock_run, clock = "", None
        for row, (run, event_time, entity_type, entity_id, lat, lon, heading, speed, status, trip_id) in enumerate(columns):
            while next_marker is not None and next_marker[0] <= row:
                sweeps.extend(self._advance(partition, next_marker[2], next_marker[1].step_end_ms))
                next_marker = next(markers, None)
            if clock is None or run != clock_run:
                clock_run, clock = run, self.clock(partition, run)
            if event_time > clock.watermark:
                # Sweep before folding: a ping that opens the entity's next window must not overwrite the one it closes.
                crossed = event_time // window_ms != clock.watermark // window_ms
                clock.watermark = event_time
                if crossed:
                    sweeps.append(self._sweep(clock, partition))
            state = states.get(entity_id)
            if state is None or state.run != run:
                start = event_time - event_time % window_ms
                if start + window_ms <= clock.watermark - self.allowed_lateness_ms:
                    late += 1
                    continue
                if state is not None:  # the entity's window of an earlier run: this run starts afresh
                    self._drop_cell(state)
                state = states[entity_id] = EntityWindow(entity_type, entity_id, run, partition, start, start + window_ms,
                                                         event_time, lat, lon, heading, speed, status, trip_id)
            elif not state.fold(event_time, lat, lon, heading, speed, status, trip_id, window_ms,
                                clock.watermark - self.allowed_lateness_ms):
                late += 1
                continue
            # H3's integer index: half the cost of its string form, which is made only when the cell changes
            cell_index = cell_index_of(state.lat, state.lon, DENSITY_RESOLUTION)
            if cell_index != state.cell_index:
                state.cell_index = cell_index
                cell = h3.int_to_str(cell_index)
                if cell != state.cell:  # density follows cell moves; sent with the next sweep
                    kind = f"{entity_type}s"
                    if state.cell:
                        clock.pending_density.append((state.cell, kind, -1))
                    clock.pending_density.append((cell, kind, 1))
                    state.cell = cell
            changed.add(entity_id)
            expired.discard(entity_id)
            clock.open_by_end[state.window_end].add(entity_id)
        while next_marker is not None:
            sweeps.extend(self._advance(partition, next_marker[2], next_marker[1].step_end_ms))
            next_marker = next(markers, None)
        return [sweep for sweep in sweeps if sweep], late

    def _drop_cell(self, state: EntityWindow) -> None:
        if state.cell:
            clock = self.clock(state.partition, state.run)
            clock.pending_density.append((state.cell, f"{state.entity_type}s", -1))

    def _advance(self, partition: int, run: str, event_time: int) -> list[LiveStateBatch]:
        """A step marker: no later event of the run on this partition is earlier than `event_time`."""
        clock = self.clock(partition, run)
        if event_time <= clock.watermark:
            return []
        crossed = event_time // self.window_ms != clock.watermark // self.window_ms
        clock.watermark = event_time
        return [self._sweep(clock, partition)] if crossed else []

    def _sweep(self, clock: WindowClock, partition: int) -> LiveStateBatch:
        """Emit windows ended by the watermark and expire idle entities of the clock's partition and run.

        A window is closed when its end is at or before the watermark, so closing changes no state;
        only idle expiry deletes entities."""
        cutoff = clock.watermark - self.allowed_lateness_ms
        batch = LiveStateBatch(window_end=cutoff - cutoff % self.window_ms, density=clock.pending_density)
        clock.pending_density = []
        for key in clock.due(clock.open_by_end, cutoff):
            state = self.states.get(key)
            if state is None or state.window_end > cutoff:
                continue  # gone, or re-opened in a later window (indexed there)
            summary = _encode_json(PositionSummary(
                state.entity_type, state.entity_id, state.lat, state.lon, state.heading_deg, state.speed_kmh, state.driver_status,
                state.trip_id, state.event_time, state.window_end, state.ping_count, state.distance_m))
            batch.positions.append(ClosedWindow(state.entity_id, f"{state.entity_type}:{state.entity_id}", state.lon, state.lat,
                                                state.window_end, summary))
            clock.mark_idle(key, state.window_end)
        idle_cutoff = clock.watermark - self.idle_expiry_ms
        for key in clock.due_idle(idle_cutoff):
            state = self.states.get(key)
            if state is None or state.window_end > idle_cutoff:
                continue
            del self.states[key]
            self._changed[partition].discard(key)
            self._expired[partition].add(key)
            batch.removed.append(state.member)
            if state.cell:
                batch.density.append((state.cell, f"{state.entity_type}s", -1))
        return batch

    def checkpoint(self, partition: int) -> None:
        """Write the partition's changed entities and delete its expired ones.

        Must run where table writes go to `partition` (`streams.batches.on_partition_of` a message of it)."""
        for key in self._expired.pop(partition, ()):
            self.table.pop(key, None)
        for key in self._changed.pop(partition, ()):
            self.table[key] = self.states[key].stored()

    def changed_partitions(self) -> list[int]:
        return sorted(set(self._changed) | set(self._expired))


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
_DENSITY_SCRIPT_BYTES = _DENSITY_SCRIPT.encode()


def live_state_commands(keys: LiveStateKeys, sweeps: Sequence[LiveStateBatch]) -> RedisCommands:
    """The Redis writes of sweeps, in one write: one pub/sub delta per sweep (its window end), and the sweeps'
    net effect on the GEO set, the latest HASH and the density counts (each a single command, so a
    delivery that closes many windows costs a few commands, not four per window)."""
    commands = RedisCommands()
    number = RedisCommands.number
    final: dict[str, ClosedWindow | None] = {}  # member -> its last closed window, None if removed after it
    density: dict[tuple[str, str], int] = {}
    density_end = 0
    for batch in sweeps:
        if batch.positions:
            commands.add(b"PUBLISH", keys.positions_channel.encode(),
                         b'{"window_end":%d,"positions":[%s]}' % (batch.window_end, b",".join(c.summary_json for c in batch.positions)))
            for closed in batch.positions:
                final[closed.member] = closed
        for member in batch.removed:
            final[member] = None
        if batch.density:
            density_end = batch.window_end
            for cell, kind, delta in batch.density:
                density[cell, kind] = density.get((cell, kind), 0) + delta
    added = [closed for closed in final.values() if closed is not None]
    if added:
        geo: list[bytes] = []
        latest: list[bytes] = []
        for closed in added:  # one formatting per argument pair: this runs for every closed window
            member, lon, lat, summary = closed.member.encode(), number(closed.lon), number(closed.lat), closed.summary_json
            geo.append(b"$%d\r\n%b\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(lon), lon, len(lat), lat, len(member), member))
            latest.append(b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(member), member, len(summary), summary))
        commands.add_packed([b"GEOADD", keys.positions_geo.encode()], b"".join(geo), 3 * len(added))
        commands.add_packed([b"HSET", keys.positions_latest.encode()], b"".join(latest), 2 * len(added))
    removed = [member.encode() for member, closed in final.items() if closed is None]
    if removed:
        commands.add(b"ZREM", keys.positions_geo.encode(), *removed)
        commands.add(b"HDEL", keys.positions_latest.encode(), *removed)
    moves = [(cell, kind, delta) for (cell, kind), delta in density.items() if delta]
    if moves:
        args = [b"EVAL", _DENSITY_SCRIPT_BYTES, b"1", keys.density_h3.encode(), b"%d" % density_end]
        for cell, kind, delta in moves:
            args += (cell.encode(), kind.encode(), b"%d" % delta)
        commands.add(*args)  # one small script per write: no EVALSHA cache to manage
    return commands


class GpsWindowsTopology:
    """The subscriber of the deduplicated GPS stream: folds batches, writes sweeps to Redis."""

    def __init__(self, app: faust.App, settings: Settings, windows: GpsWindows, window_node: Node, sinks: list[Node]) -> None:
        self.windows = windows
        self.window_node = window_node
        self.sinks = sinks
        self.keys = LiveStateKeys(settings.topic_namespace)
        self.redis_url = settings.redis_url
        self.metrics = context_of(app).metrics
        self._redis: aioredis.Redis | None = None
        self._messages: dict[int, Any] = {}

    async def on_batches(self, batches: Sequence[AdmittedBatch]) -> None:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(self.redis_url)
        metrics, processed = self.metrics, 0
        sweeps: list[LiveStateBatch] = []
        for batch in batches:
            self._messages[batch.partition] = batch.message
            with self.window_node.timed():
                batch_sweeps, late = self.windows.fold(batch)
            sweeps.extend(batch_sweeps)
            self.window_node.record(events_in=len(batch), events_out=len(batch) - late)
            processed += len(batch)
            if late:
                metrics.late_events.labels("gps").inc(late)
        metrics.events_processed.labels("gps").inc(processed)
        if not sweeps:
            return
        # every sweep of the delivery in one write: one round trip, not one per partition and window
        started = time.perf_counter()
        closed = sum(len(sweep.positions) for sweep in sweeps)
        with self.sinks[0].timed():  # the four Redis sinks are one write: its packing is counted on the first
            commands = live_state_commands(self.keys, sweeps)
        try:
            await commands.execute(self._redis)
        except (RedisError, OSError) as exc:  # the live map misses these sweeps; state and Kafka processing go on
            metrics.redis_errors.labels("gps").inc()
            log.error("gps: could not write %d closed windows to Redis (%s); later sweeps write the latest state", closed, exc)
            return
        metrics.redis_publish_seconds.labels("gps").observe(time.perf_counter() - started)
        metrics.window_closes.labels("gps").inc(closed)
        for sink in self.sinks:
            sink.record(events_in=closed, events_out=closed)

    def checkpoint(self) -> None:
        with self.window_node.timed():
            for partition in self.windows.changed_partitions():
                message = self._messages.get(partition)
                if message is not None:
                    with on_partition_of(message):
                        self.windows.checkpoint(partition)

    def on_revoked(self) -> None:
        self.windows.forget()
        self._messages.clear()


def build(app: faust.App, settings: Settings, *, pings: AdmittedStream) -> Topology:
    """GPS windows fed by the deduplicated GPS stream `pings` (from the dedup topology)."""
    window_ms = settings.gps_window_ms
    keys = LiveStateKeys(settings.topic_namespace)
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
    topology.connect(pings.node.id, window_node)  # the gps source, decoding and dedup are the dedup topology's
    for sink in sinks:
        topology.connect(window_node, sink)

    table = state_table(app, table_name, partitions=topic_spec("gps").partitions, help=f"open/last {window_ms} ms GPS window per entity")
    windows = GpsWindows(table, window_ms, settings.gps_idle_expiry_ms)
    pings.subscribe(GpsWindowsTopology(app, settings, windows, window_node, sinks))

    @app.page("/positions/{entity_id}/")
    class PositionView(View):
        async def get(self, request: Request, entity_id: str) -> Response:
            # the route hashes the key with the producer's metadata of the changelog: a request can come before
            # the worker's start-up task has learnt it
            if not await learn_changelog_partitions(app, table):
                return self.json({"entity_id": entity_id, "error": "the table's partitions are not known yet, retry"}, status=503)
            return await self.routed(request, entity_id=entity_id)

        @app.table_route(table=table, match_info="entity_id")
        async def routed(self, request: Request, entity_id: str) -> Response:
            state = windows.states.get(entity_id)
            if state is None:
                stored = table.get(entity_id)
                state = EntityWindow.from_stored(stored) if stored else None
            if state is None:
                return self.json({"entity_id": entity_id, "error": "unknown entity on this worker"}, status=404)
            clock = windows.clocks.get((state.partition, state.run))
            return self.json({**state.summary(), "window_closed": clock is not None and state.window_end <= clock.watermark})

    return topology
