"""Surge: per zone demand (ride requests) and supply (distinct available drivers) over hopping
event-time windows, turned into a capped, smoothed multiplier published only when it changes.

Pure part: panes. A hopping window of `window_ms` advancing every `step_ms` is the union of the last
`window_ms / step_ms` tumbling panes of `step_ms`, so each signal writes one pane (not one per
overlapping window) and distinct driver counts stay exact (union of pane sets). `target_multiplier`
and `next_multiplier` are the pricing math (cap, dead band, smoothing), all without I/O.
`demand_signal`, `status_signal` and `PingSupply` turn events into signals and `SurgeEngine` folds
signals and closes steps: the Faust agents below and an in-process closed loop (tests, benchmarks)
share them, so both compute the same multipliers.

Runtime part: the trips and driver-status agents (deduplicated) and the GPS agent (pings of
available drivers, at most one signal per driver per pane) forward compact signals to one internal
single-partition topic. Surge traffic after that reduction is small (requests + drivers per minute),
and one partition gives one event-time clock for all zones: when the watermark crosses a step
boundary, every zone's window is evaluated, including quiet zones. State is a RocksDB table
zone -> {panes, multiplier}; panes older than the window are pruned (bounded state).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import msgspec
import redis.asyncio as aioredis
from faust.web import Request, Response, View

from core.kafka_admin import topic_state
from core.settings import Settings
from schemas.catalog import topic_spec
from schemas.live_state import LiveStateKeys
from schemas.markers import MARKED_TOPICS, MARKER_KEY, RUN_HEADER, StepMarker, run_key
from schemas.zones import zone_index
from streams.batches import batch_agent, on_partition_of
from streams.context import context_of
from streams.graph import Node, Topology
from streams.tables import state_table
from streams.topics import catalog_topic, internal_topic
from topologies.dedup import AdmittedBatch, AdmittedStream

__all__ = ["PingSupply", "SurgeConfig", "SurgeEngine", "apply_signal", "build", "closed_window_ends", "demand_signal",
           "evaluate_zone", "next_multiplier", "status_signal", "surge_update_record", "target_multiplier", "window_counts",
           "zone_lookup"]

log = logging.getLogger(__name__)

META_KEY = "__run__"
MAX_CATCH_UP_STEPS = 30
MAX_RUNS = 4  # runs whose surge state is kept (the least recently seen beyond are dropped)


@dataclass(frozen=True)
class SurgeConfig:
    window_ms: int = 300_000
    step_ms: int = 60_000
    cap: float = 3.0
    # Share of the gap to the target closed per step, and moves smaller than the dead band ignored (no
    # flapping) except returning to 1.0: a burst is priced within a step or two and a passing one fades as
    # fast, so a short spike of requests surges a few minutes, not a quarter of an hour (calibrated with
    # the zones' sensitivity in closed-loop simulated weekdays: 10–30 % of trips surged, mean 1.2–1.6×).
    smoothing: float = 0.7
    dead_band: float = 0.3
    # A window closes once event time is this far past its end: signals merge several source
    # partitions that are read concurrently, so they arrive slightly out of event-time order.
    allowed_lateness_ms: int = 0

    def __post_init__(self) -> None:
        if self.window_ms % self.step_ms:
            raise ValueError(f"surge window {self.window_ms} ms must be a multiple of its step {self.step_ms} ms")


def target_multiplier(demand: int, supply: int, sensitivity: float, cap: float) -> float:
    """Multiplier the zone should converge to: 1.0 while supply covers demand, rising with the excess ratio."""
    if demand <= 0:
        return 1.0
    ratio = demand / max(supply, 1)
    return round(min(cap, 1.0 + sensitivity * max(0.0, ratio - 1.0)), 1)


def next_multiplier(current: float, target: float, config: SurgeConfig) -> float:
    """One smoothed step from `current` toward `target` in 0.1 increments, with a dead band against flapping."""
    current_t, target_t = round(current * 10), round(target * 10)
    gap = target_t - current_t
    if gap == 0:
        return current_t / 10
    if abs(gap) < round(config.dead_band * 10) and target_t != 10:
        return current_t / 10  # a small wobble: keep the price stable
    step = round(gap * config.smoothing) or (1 if gap > 0 else -1)
    return min(max(current_t + step, 10), round(config.cap * 10)) / 10


def pane_start(event_time: int, step_ms: int) -> int:
    return event_time - event_time % step_ms


def apply_signal(state: dict[str, Any] | None, signal: dict[str, Any], config: SurgeConfig) -> dict[str, Any]:
    """Add one demand or supply signal to the zone's pane of its event time (new state; input untouched).

    Panes hold ids (request event ids, driver ids), not counts: a signal delivered twice (a replay
    after a crash) changes nothing, so multipliers stay deterministic."""
    state = state or {"zone_id": signal["zone_id"], "panes": {}, "multiplier": 1.0}
    start = str(pane_start(signal["event_time"], config.step_ms))
    pane = state["panes"].get(start) or {"demand": [], "drivers": []}
    field_name = "demand" if signal["kind"] == "demand" else "drivers"
    if signal["id"] in pane[field_name]:
        return state
    pane = {**pane, field_name: [*pane[field_name], signal["id"]]}
    return {**state, "panes": {**state["panes"], start: pane}}


def window_counts(state: dict[str, Any], window_end: int, config: SurgeConfig) -> tuple[int, int]:
    """(demand, distinct available drivers) of the window [window_end - window_ms, window_end)."""
    demand, drivers = 0, set()
    for start, pane in state["panes"].items():
        if window_end - config.window_ms <= int(start) < window_end:
            demand += len(pane["demand"])
            drivers.update(pane["drivers"])
    return demand, len(drivers)


def evaluate_zone(state: dict[str, Any], window_end: int, sensitivity: float,
                  config: SurgeConfig) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Close the window ending at `window_end`: prune old panes, step the multiplier.

    Returns (new state, surge_update fields when the multiplier changed else None).
    """
    demand, supply = window_counts(state, window_end, config)
    current = state["multiplier"]
    new_multiplier = next_multiplier(current, target_multiplier(demand, supply, sensitivity, config.cap), config)
    oldest_kept = window_end - config.window_ms + config.step_ms  # panes still inside the next window
    panes = {start: pane for start, pane in state["panes"].items() if int(start) >= oldest_kept}
    new_state = {**state, "panes": panes, "multiplier": new_multiplier, "demand_count": demand,
                 "supply_count": supply, "window_end": window_end}
    if new_multiplier == current:
        return new_state, None
    return new_state, {"zone_id": state["zone_id"], "surge_multiplier": new_multiplier, "previous_multiplier": current,
                       "demand_count": demand, "supply_count": supply,
                       "window_start": window_end - config.window_ms, "window_end": window_end}


def closed_window_ends(previous_watermark: int, watermark: int, config: SurgeConfig) -> list[int]:
    """Window ends crossed when the watermark moves; a long jump is capped at what still changes state
    (the multiplier needs at most ~cap/0.1 steps to settle, and panes are all pruned after one window)."""
    first = pane_start(previous_watermark, config.step_ms) + config.step_ms
    last = pane_start(watermark, config.step_ms)
    ends = list(range(first, last + 1, config.step_ms))
    return ends[-MAX_CATCH_UP_STEPS:]


def live_object(state: dict[str, Any]) -> dict[str, Any]:
    """The surge_current object of schemas/live_state.py."""
    return {"zone_id": state["zone_id"], "surge_multiplier": state["multiplier"], "demand_count": state.get("demand_count", 0),
            "supply_count": state.get("supply_count", 0), "window_end": state.get("window_end")}


def demand_signal(trip: dict[str, Any]) -> dict[str, Any] | None:
    """A trip event's demand signal: one per ride request, in its pickup zone."""
    if trip.get("event_type") != "requested":
        return None
    return {"kind": "demand", "zone_id": trip["pickup_zone_id"], "event_time": trip["event_time"], "id": trip["event_id"],
            "session_id": trip["session_id"]}


def status_signal(status: dict[str, Any]) -> dict[str, Any] | None:
    """A driver_status event's supply signal: the driver became available in its zone."""
    if status.get("new_status") != "available":
        return None
    return {"kind": "supply", "zone_id": status["zone_id"], "event_time": status["event_time"], "id": status["driver_id"],
            "session_id": status["session_id"]}


class PingSupply:
    """Supply signals from the GPS pings of available drivers, at most one per driver per pane and zone.

    The limit only saves signals (supply is a set of drivers per pane, so a repeated signal changes
    nothing); the memory is bounded by clearing it when it grows past `max_drivers`."""

    def __init__(self, config: SurgeConfig, zone_of: Callable[[float, float], str | None], *, max_drivers: int = 200_000) -> None:
        self._step_ms = config.step_ms
        self._zone_of = zone_of
        self._max_drivers = max_drivers
        self._last: dict[str, tuple[int, str]] = {}

    def supply(self, driver_id: str, lat: float, lon: float, event_time: int) -> str | None:
        """The zone an available driver's ping signals supply in, or None when it adds nothing new."""
        zone_id = self._zone_of(lat, lon)
        if zone_id is None:
            return None
        mark = (pane_start(event_time, self._step_ms), zone_id)
        if self._last.get(driver_id) == mark:
            return None
        if len(self._last) > self._max_drivers:
            self._last.clear()
        self._last[driver_id] = mark
        return zone_id

    def signal(self, ping: dict[str, Any]) -> dict[str, Any] | None:
        """The supply signal of one ping record, if it is an available driver's and adds something."""
        if ping["entity_type"] != "driver" or ping.get("driver_status") != "available":
            return None
        zone_id = self.supply(ping["entity_id"], ping["lat"], ping["lon"], ping["event_time"])
        if zone_id is None:
            return None
        return {"kind": "supply", "zone_id": zone_id, "event_time": ping["event_time"], "id": ping["entity_id"],
                "session_id": ping["session_id"]}


def surge_update_record(update: dict[str, Any], window_end: int, session_id: str) -> dict[str, Any]:
    """The surge_update event of a zone whose multiplier changed at `window_end` (deterministic id)."""
    return {"event_id": f"surge-{update['zone_id']}-{window_end}", "event_time": window_end, "session_id": session_id,
            "correlation_id": update["zone_id"], "causation_id": None, **update}


class SurgeEngine:
    """The surge computation without I/O: signals into zone panes, a step close into surge updates.

    `zones` holds the state per zone id (a dict in process, the RocksDB table in the worker), so the
    Faust topology and an in-process closed loop compute exactly the same multipliers."""

    def __init__(self, config: SurgeConfig, sensitivity_of: Callable[[str], float],
                 zones: MutableMapping[Any, dict[str, Any]] | None = None) -> None:
        self.config = config
        self._sensitivity_of = sensitivity_of
        self.zones: MutableMapping[Any, dict[str, Any]] = zones if zones is not None else {}

    def add(self, signal: dict[str, Any]) -> None:
        """Fold one signal into its zone's pane."""
        self.zones[signal["zone_id"]] = apply_signal(self.zones.get(signal["zone_id"]), signal, self.config)

    def close(self, window_end: int, session_id: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Evaluate every zone's window ending at `window_end`.

        Returns (surge_update records of the zones whose multiplier changed, live object per zone)."""
        updates: list[dict[str, Any]] = []
        live: dict[str, dict[str, Any]] = {}
        # zones in a fixed order: the order signals first reached a zone depends on how workers interleave,
        # and the step's records must not (a replayed run publishes the same surge topic byte for byte)
        for key, state in sorted(self.zones.items(), key=lambda item: str(item[0])):
            zone_id = key.decode() if isinstance(key, bytes) else key
            new_state, update = evaluate_zone(state, window_end, self._sensitivity_of(zone_id), self.config)
            self.zones[zone_id] = new_state
            live[zone_id] = live_object(new_state)
            if update:
                updates.append(surge_update_record(update, window_end, session_id))
        return updates, live


def zone_lookup() -> tuple[Callable[[float, float], str | None], Callable[[str], float]]:
    """Zone of a point and a zone's surge sensitivity, from the shared zone model."""
    index = zone_index()

    def sensitivity(zone_id: str) -> float:
        return index.surge_sensitivity(zone_id) if zone_id in index.by_id else 1.0

    return index.zone_of, sensitivity


# ---- runtime part ---------------------------------------------------------------------------------

SignalItem = list[Any]
"""One entry of a signal message: ["s", kind, zone_id, event_time, id] (a signal) or ["m", step_end_ms]
(the source partition's step marker). Items keep the source partition's order.

A signal message carries one run's items of every source partition in one delivery of batches:
{"session_id", "run_id", "sources": [[source, [item, ...]], ...]}. One message per run and delivery,
not per partition: the signal topic has one partition, and the producer sends a partition's next
batch only once the one in flight is acknowledged, so each further message there costs a round trip."""


@dataclass
class RunSurge:
    """Surge state of one run: its engine's zones, its clock, and the step markers seen so far."""

    session_id: str
    run_id: str
    engine: SurgeEngine
    watermark: int = 0
    closed_until: int = 0
    lockstep: bool = False
    markers: dict[int, set[str]] = field(default_factory=dict)
    last_seen: float = 0.0

    def meta(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "run_id": self.run_id, "watermark": self.watermark,
                "closed_until": self.closed_until, "lockstep": self.lockstep,
                "markers": {str(end): sorted(sources) for end, sources in self.markers.items()}, "last_seen": self.last_seen}


class SignalForwarder:
    """Subscriber of one deduplicated source stream: its batches become signal messages on the internal
    single-partition topic, one message per run and delivery, each source partition's signals and markers in order."""

    def __init__(self, topic_key: str, node: Node, signals_of: Callable[[AdmittedBatch], list[tuple[int, list[Any]]]],
                 send: Callable[[str, dict[str, Any]], Any]) -> None:
        self.topic_key = topic_key
        self.node = node
        self.signals_of = signals_of
        self.send = send

    async def on_batches(self, batches: Sequence[AdmittedBatch]) -> None:
        sources_by_run: dict[str, list[list[Any]]] = {}  # run -> [[source, items], ...]
        for batch in batches:
            self.node.record(events_in=len(batch))
            with self.node.timed():
                signals = self.signals_of(batch)
            items_by_run: dict[str, list[SignalItem]] = {}
            marker_iter = iter(batch.markers)
            marker = next(marker_iter, None)
            for row, item in signals:
                while marker is not None and marker[0] <= row:
                    items_by_run.setdefault(marker[2], []).append(["m", marker[1].step_end_ms])
                    marker = next(marker_iter, None)
                items_by_run.setdefault(batch.runs[row], []).append(["s", *item])
            while marker is not None:
                items_by_run.setdefault(marker[2], []).append(["m", marker[1].step_end_ms])
                marker = next(marker_iter, None)
            self.node.record(events_out=len(signals))
            source = f"{self.topic_key}:{batch.partition}"
            for run, items in items_by_run.items():
                sources_by_run.setdefault(run, []).append([source, items])
        for run, sources in sources_by_run.items():
            session_id, _, run_id = run.partition("/")
            await self.send(run, {"session_id": session_id, "run_id": run_id, "sources": sources})

    def checkpoint(self) -> None:
        return None  # signals are sent as batches are processed; their state lives in the windows agent

    def on_revoked(self) -> None:
        return None


def demand_signals(batch: AdmittedBatch) -> list[tuple[int, list[Any]]]:
    """(row, signal) of every ride request of a trips batch (`demand_signal`, column-wise)."""
    rows = batch.frame.get_column("event_type").eq("requested").arg_true().to_list()
    zones, times, ids = batch.column("pickup_zone_id"), batch.column("event_time"), batch.column("event_id")
    return [(row, ["demand", zones[row], times[row], ids[row]]) for row in rows]


def status_signals(batch: AdmittedBatch) -> list[tuple[int, list[Any]]]:
    """(row, signal) of every driver becoming available in a driver-status batch (`status_signal`)."""
    rows = batch.frame.get_column("new_status").eq("available").arg_true().to_list()
    zones, times, drivers = batch.column("zone_id"), batch.column("event_time"), batch.column("driver_id")
    return [(row, ["supply", zones[row], times[row], drivers[row]]) for row in rows]


def ping_signals(ping_supply: PingSupply) -> Callable[[AdmittedBatch], list[tuple[int, list[Any]]]]:
    """(row, signal) of available drivers' pings of a GPS batch, at most one per driver, pane and zone."""
    def signals(batch: AdmittedBatch) -> list[tuple[int, list[Any]]]:
        frame = batch.frame
        rows = ((frame.get_column("entity_type") == "driver") & (frame.get_column("driver_status") == "available")).arg_true().to_list()
        found: list[tuple[int, list[Any]]] = []
        lats, lons, times, entities = batch.column("lat"), batch.column("lon"), batch.column("event_time"), batch.column("entity_id")
        supply = ping_supply.supply
        for row in rows:
            zone_id = supply(entities[row], lats[row], lons[row], times[row])
            if zone_id is not None:
                found.append((row, ["supply", zone_id, times[row], entities[row]]))
        return found
    return signals


class SurgeWindows:
    """The batch processor of the signal topic: one engine per run; steps close on the markers of every
    source partition (lockstep) or on the run's watermark (live); updates go to the surge topic and Redis."""

    def __init__(self, app: faust.App, settings: Settings, config: SurgeConfig, table: Any, nodes: dict[str, Node],
                 sensitivity_of: Callable[[str], float]) -> None:
        self.config = config
        self.table = table
        self.nodes = nodes
        self.sensitivity_of = sensitivity_of
        self.keys = LiveStateKeys(settings.topic_namespace)
        self.redis_url = settings.redis_url
        self.metrics = context_of(app).metrics
        self._bootstrap = settings.bootstrap_servers
        self._namespace = settings.topic_namespace
        self.source_partitions: set[str] | None = None  # read from the broker at the first marker
        self.surge_topic = catalog_topic(app, settings, "surge", decoded=True)
        self.marker_topic = catalog_topic(app, settings, "surge")
        self.surge_partitions = 0  # read from the broker with the marked partitions
        self.runs: dict[str, RunSurge] | None = None  # None: rebuild from the table on next use
        self._changed: set[tuple[str, str]] = set()  # (run, zone or META)
        self._dropped: list[str] = []
        self._message: Any = None
        self._redis: aioredis.Redis | None = None
        self._pending_closes: list[tuple[str, list[int]]] = []

    # ---- state

    def _all_runs(self) -> dict[str, RunSurge]:
        if self.runs is None:
            self.runs = {}
            for key, stored in self.table.items():
                run, _, item = (key.decode() if isinstance(key, bytes) else key).rpartition("|")
                state = self._run(run, stored.get("session_id", ""), stored.get("run_id", "")) if item == META_KEY else None
                if state is not None:
                    state.watermark, state.closed_until = stored["watermark"], stored["closed_until"]
                    state.lockstep, state.last_seen = stored["lockstep"], stored["last_seen"]
                    state.markers = {int(end): set(sources) for end, sources in stored["markers"].items()}
            for key, stored in self.table.items():
                run, _, item = (key.decode() if isinstance(key, bytes) else key).rpartition("|")
                if item != META_KEY and run in self.runs:
                    self.runs[run].engine.zones[item] = stored
        return self.runs

    def _run(self, run: str, session_id: str, run_id: str) -> RunSurge:
        runs = self._all_runs() if self.runs is None else self.runs
        state = runs.get(run)
        if state is None:
            state = runs[run] = RunSurge(session_id, run_id, SurgeEngine(self.config, self.sensitivity_of))
            while len(runs) > MAX_RUNS:  # the least recently seen other run's state goes (its keys at the checkpoint)
                oldest = min((name for name in runs if name != run), key=lambda name: runs[name].last_seen)
                self._dropped.append(oldest)
                del runs[oldest]
        state.last_seen = time.time()
        return state

    def on_revoked(self) -> None:
        self.runs = None
        self._changed.clear()

    # ---- processing

    async def process(self, messages: Sequence[Any]) -> None:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(self.redis_url)
        self._message = messages[-1]
        for message in messages:
            try:
                signal_message = msgspec.json.decode(message.value)
                run = run_key(signal_message["session_id"], signal_message["run_id"])
                state = self._run(run, signal_message["session_id"], signal_message["run_id"])
                for source, items in signal_message["sources"]:
                    for item in items:
                        if item[0] == "s":
                            self._add(run, state, item)
                        else:
                            await self._marker(run, state, source, int(item[1]))
            except (msgspec.DecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
                self.nodes["windows"].record(errors=1)  # only this topology writes the topic: a bug, not data
                log.error("skipping a malformed surge signal message at offset %d: %s", message.offset, exc)

    def _add(self, run: str, state: RunSurge, item: SignalItem) -> None:
        _, kind, zone_id, event_time, signal_id = item
        self.nodes["windows"].record(events_in=1)
        config = self.config
        if event_time < state.closed_until - config.window_ms + config.step_ms:
            self.metrics.late_events.labels("surge").inc()  # no open window contains it any more
            return
        state.engine.add({"kind": kind, "zone_id": zone_id, "event_time": event_time, "id": signal_id})
        self._changed.add((run, zone_id))
        self.metrics.events_processed.labels("surge").inc()
        if state.lockstep or event_time <= state.watermark:
            return
        state.watermark = event_time
        self._changed.add((run, META_KEY))
        closable = event_time - config.allowed_lateness_ms
        if state.closed_until and closable >= state.closed_until + config.step_ms:
            self._pending_closes.append((run, closed_window_ends(state.closed_until, closable, config)))
        elif not state.closed_until:
            state.closed_until = pane_start(closable, config.step_ms)

    async def _marker(self, run: str, state: RunSurge, source: str, step_end: int) -> None:
        if step_end <= state.closed_until:
            return  # a marker re-delivered after its step closed
        state.lockstep = True
        self._changed.add((run, META_KEY))
        seen = state.markers.setdefault(step_end, set())
        seen.add(source)
        if self.source_partitions is None:
            self.source_partitions = await asyncio.get_running_loop().run_in_executor(None, self._marked_partitions)
        if seen < self.source_partitions:
            return
        del state.markers[step_end]
        ends = closed_window_ends(state.closed_until, step_end, self.config) if state.closed_until else [step_end]
        await self._close(run, state, ends)
        for partition in range(self.surge_partitions):
            await self.marker_topic.send(key=MARKER_KEY, value=None, partition=partition,
                                         headers=[*StepMarker(state.session_id, step_end).headers(),
                                                  (RUN_HEADER, state.run_id.encode())])

    def _marked_partitions(self) -> set[str]:
        """Every partition the simulation marks, as the broker has them (the topics may predate the catalog's counts)."""
        sources = set()
        for key in MARKED_TOPICS:
            state = topic_state(self._bootstrap, topic_spec(key).qualified(self._namespace))
            sources.update(f"{key}:{partition}" for partition in state.high_watermarks)
        self.surge_partitions = len(topic_state(self._bootstrap, topic_spec("surge").qualified(self._namespace)).high_watermarks)
        return sources

    async def _close(self, run: str, state: RunSurge, window_ends: list[int]) -> None:
        for window_end in window_ends:
            updates, live = state.engine.close(window_end, state.session_id)
            self._changed.update((run, zone_id) for zone_id in live)
            pipe = self._redis.pipeline(transaction=False)  # type: ignore[union-attr]  # set in process
            if live:
                pipe.hset(self.keys.surge_current, mapping={zone_id: json.dumps(obj) for zone_id, obj in live.items()})
            for update in updates:
                pipe.publish(self.keys.surge_channel, json.dumps(live[update["zone_id"]]))
                await self.surge_topic.send(key=update["zone_id"], value=update, headers=[(RUN_HEADER, state.run_id.encode())])
            await pipe.execute()
            self.metrics.surge_updates.inc(len(updates))
            self.metrics.window_closes.labels("surge").inc(len(live))
            self.nodes["windows"].record(events_out=len(live))
            self.nodes["surge-topic"].record(events_in=len(updates), events_out=len(updates))
            self.nodes["redis"].record(events_in=len(live), events_out=len(live))
            state.closed_until = max(state.closed_until, window_end)
        self._changed.add((run, META_KEY))

    async def close_pending(self) -> None:
        """Close the live-mode windows the signals of the last batch crossed."""
        pending, self._pending_closes = self._pending_closes, []
        for run, ends in pending:
            state = self._all_runs().get(run)
            if state is not None:
                await self._close(run, state, [end for end in ends if end > state.closed_until])

    def checkpoint(self) -> None:
        if self._message is None or self.runs is None:
            return
        with on_partition_of(self._message):
            for run in self._dropped:
                for key in [k for k in self.table if (k.decode() if isinstance(k, bytes) else k).startswith(f"{run}|")]:
                    self.table.pop(key, None)
            self._dropped.clear()
            for run, item in self._changed:
                state = self.runs.get(run)
                if state is None:
                    continue
                self.table[f"{run}|{item}"] = state.meta() if item == META_KEY else state.engine.zones[item]
            self._changed.clear()

    def latest_run(self) -> RunSurge | None:
        runs = self._all_runs()
        return max(runs.values(), key=lambda state: state.last_seen) if runs else None


class _SurgeProcessor:
    """Runs the live-mode closes after each batch (they await sends), around `SurgeWindows.process`."""

    def __init__(self, windows: SurgeWindows) -> None:
        self.windows = windows

    async def process(self, messages: Sequence[Any]) -> None:
        await self.windows.process(messages)
        await self.windows.close_pending()

    def checkpoint(self) -> None:
        self.windows.checkpoint()


def build(app: faust.App, settings: Settings, *, trips: AdmittedStream, driver_status: AdmittedStream,
          pings: AdmittedStream) -> Topology:
    """Surge fed by the deduplicated trips, driver-status and GPS streams (from the dedup topology)."""
    config = SurgeConfig(window_ms=settings.surge_window_ms, step_ms=settings.surge_step_ms,
                         allowed_lateness_ms=settings.surge_allowed_lateness_ms)
    keys = LiveStateKeys(settings.topic_namespace)
    zone_of, sensitivity_of = zone_lookup()
    surge_spec = topic_spec("surge")
    table_name = f"surge-panes-{config.window_ms}ms-{config.step_ms}ms"

    topology = Topology("surge", f"demand/supply per zone over {config.window_ms} ms windows every {config.step_ms} ms "
                                 f"-> multiplier (cap {config.cap}); steps close on the simulation's step markers "
                                 "(lockstep) or the run's watermark (live)")
    nodes = {
        "demand": topology.operator("demand", "trip 'requested' -> demand signal keyed by pickup zone"),
        "supply-status": topology.operator("supply-status", "driver_status 'available' -> supply signal"),
        "supply-gps": topology.operator("supply-gps", "ping of an available driver -> supply signal (once per driver per pane)"),
        "signals": topology.operator("signals", "single-partition signal stream (one event-time clock for all zones)",
                                     target=f"{settings.topic_namespace}rideshare.internal.surge-signals"),
        "windows": topology.operator("windows", f"panes of {config.step_ms} ms, hopping windows, multiplier, per run",
                                     target=f"table {table_name}"),
        "surge-topic": topology.sink("surge-topic", "surge_update when a multiplier changes; step markers in lockstep",
                                     target=surge_spec.qualified(settings.topic_namespace)),
        "redis": topology.sink("redis", "surge_current HASH + updates channel", target=keys.surge_current),
    }
    topology.connect(trips.node.id, nodes["demand"], nodes["signals"], nodes["windows"], nodes["surge-topic"])
    topology.connect(driver_status.node.id, nodes["supply-status"], nodes["signals"])
    topology.connect(pings.node.id, nodes["supply-gps"], nodes["signals"])
    topology.connect(nodes["windows"], nodes["redis"])

    signal_topic = internal_topic(app, settings, "surge-signals", partitions=1)

    async def send(run: str, message: dict[str, Any]) -> None:
        await signal_topic.send(key=run.encode(), value=message)

    trips.subscribe(SignalForwarder("trips", nodes["demand"], demand_signals, send))
    driver_status.subscribe(SignalForwarder("driver-status", nodes["supply-status"], status_signals, send))
    pings.subscribe(SignalForwarder("gps", nodes["supply-gps"], ping_signals(PingSupply(config, zone_of)), send))

    table = state_table(app, table_name, partitions=1, help="surge panes, multipliers and step state per run and zone")
    windows = SurgeWindows(app, settings, config, table, nodes, sensitivity_of)
    # No linger and a checkpoint every batch: signal traffic is small (the forwarders already send one message
    # per delivery), a step closes as soon as its last marker is in, and its state is durable soon after.
    batch_agent(app, signal_topic, _SurgeProcessor(windows), name=f"{settings.topic_namespace}surge-windows",
                max_events=settings.stream_batch_max_events, within_s=0.0, checkpoint_s=0.0)

    @app.on_partitions_revoked.connect
    async def forget(sender: Any, revoked: Any, **kwargs: Any) -> None:
        windows.on_revoked()

    @app.page("/surge/")
    class SurgeView(View):
        @app.table_route(table=table, exact_key=META_KEY)
        async def get(self, request: Request) -> Response:
            state = windows.latest_run()
            if state is None:
                return self.json({"run": None, "window_ms": config.window_ms, "step_ms": config.step_ms, "zones": []})
            zones = [{**live_object(zone), "panes": len(zone["panes"])} for zone in state.engine.zones.values()]
            return self.json({"session_id": state.session_id, "run_id": state.run_id, "watermark": state.watermark,
                              "closed_until": state.closed_until, "lockstep": state.lockstep,
                              "window_ms": config.window_ms, "step_ms": config.step_ms,
                              "zones": sorted(zones, key=lambda zone: zone["zone_id"])})

    return topology
