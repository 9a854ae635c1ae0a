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

import json
import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import faust
import redis.asyncio as aioredis
from faust.web import Request, Response, View

from core.settings import Settings
from schemas.catalog import topic_spec
from schemas.live_state import LiveStateKeys
from schemas.zones import zone_index
from streams.context import context_of
from streams.graph import Topology, TopologyRegistry
from streams.tables import state_table
from streams.topics import catalog_topic, internal_topic
from topologies.dedup import dedup_heads

__all__ = ["PingSupply", "SurgeConfig", "SurgeEngine", "apply_signal", "build", "closed_window_ends", "demand_signal",
           "evaluate_zone", "next_multiplier", "status_signal", "surge_update_record", "target_multiplier", "window_counts",
           "zone_lookup"]

log = logging.getLogger(__name__)

WATERMARK_KEY = "__watermark__"
MAX_CATCH_UP_STEPS = 30


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
    """Add one demand or supply signal to the zone's pane of its event time (new state; input untouched)."""
    state = state or {"zone_id": signal["zone_id"], "panes": {}, "multiplier": 1.0}
    start = str(pane_start(signal["event_time"], config.step_ms))
    pane = dict(state["panes"].get(start) or {"demand": 0, "drivers": []})
    if signal["kind"] == "demand":
        pane["demand"] += 1
    elif signal["id"] not in pane["drivers"]:
        pane["drivers"] = [*pane["drivers"], signal["id"]]
    return {**state, "panes": {**state["panes"], start: pane}}


def window_counts(state: dict[str, Any], window_end: int, config: SurgeConfig) -> tuple[int, int]:
    """(demand, distinct available drivers) of the window [window_end - window_ms, window_end)."""
    demand, drivers = 0, set()
    for start, pane in state["panes"].items():
        if window_end - config.window_ms <= int(start) < window_end:
            demand += pane["demand"]
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

    def signal(self, ping: dict[str, Any]) -> dict[str, Any] | None:
        if ping["entity_type"] != "driver" or ping.get("driver_status") != "available":
            return None
        zone_id = self._zone_of(ping["lat"], ping["lon"])
        if zone_id is None:
            return None
        mark = (pane_start(ping["event_time"], self._step_ms), zone_id)
        if self._last.get(ping["entity_id"]) == mark:
            return None
        if len(self._last) > self._max_drivers:
            self._last.clear()
        self._last[ping["entity_id"]] = mark
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
        for key, state in list(self.zones.items()):
            zone_id = key.decode() if isinstance(key, bytes) else key
            if zone_id == WATERMARK_KEY:
                continue
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


def build(app: faust.App, settings: Settings, registry: TopologyRegistry) -> Topology:

    config = SurgeConfig(window_ms=settings.surge_window_ms, step_ms=settings.surge_step_ms,
                         allowed_lateness_ms=settings.surge_allowed_lateness_ms)
    keys = LiveStateKeys(settings.topic_namespace)
    metrics = context_of(app).metrics
    heads = dedup_heads(registry)
    zone_of, sensitivity_of = zone_lookup()
    surge_spec = topic_spec("surge")
    table_name = f"surge-panes-{config.window_ms}ms-{config.step_ms}ms"

    topology = Topology("surge", f"demand/supply per zone over {config.window_ms} ms windows every {config.step_ms} ms "
                                 f"-> multiplier (cap {config.cap})")
    demand_node = topology.operator("demand", "trip 'requested' -> demand signal keyed by pickup zone")
    status_supply = topology.operator("supply-status", "driver_status 'available' -> supply signal")
    gps_supply = topology.operator("supply-gps", "ping of an available driver -> supply signal (once per driver per pane)")
    signals = topology.operator("signals", "single-partition signal stream (one event-time clock for all zones)",
                                target=f"{settings.topic_namespace}rideshare.internal.surge-signals")
    panes = topology.operator("windows", f"panes of {config.step_ms} ms, hopping windows, multiplier",
                              target=f"table {table_name}")
    surge_sink = topology.sink("surge-topic", "surge_update when a multiplier changes",
                               target=surge_spec.qualified(settings.topic_namespace))
    redis_sink = topology.sink("redis", "surge_current HASH + updates channel", target=keys.surge_current)
    topology.connect("dedup.trips", "dedup.seen-trips", demand_node, signals, panes, surge_sink)
    topology.connect("dedup.driver-status", "dedup.seen-driver-status", status_supply, signals)
    topology.connect("dedup.seen-gps", gps_supply, signals)
    topology.connect(panes, redis_sink)

    signal_topic = internal_topic(app, settings, "surge-signals", partitions=1)
    surge_topic = catalog_topic(app, settings, "surge", decoded=True)
    table = state_table(app, table_name, partitions=1, help="surge panes and current multiplier per zone")

    engine = SurgeEngine(config, sensitivity_of, table)
    ping_supply = PingSupply(config, zone_of)

    async def forward(node: Any, signal: dict[str, Any] | None) -> None:
        if signal is not None:
            node.record(events_out=1)
            await signal_topic.send(key=signal["zone_id"], value=signal)

    async def read(stream: faust.StreamT, topic_key: str, handle: Callable[[dict[str, Any]], Any]) -> None:
        head = heads[topic_key]
        async for event in stream.events():
            record = head.admit(event.value, event.message.partition)
            head.flush(event.message.partition, str(event.message.offset))  # low-rate topics: per event
            if record is not None:
                await handle(record)

    async def on_trip(trip: dict[str, Any]) -> None:
        demand_node.record(events_in=1)
        await forward(demand_node, demand_signal(trip))

    async def on_status(status: dict[str, Any]) -> None:
        status_supply.record(events_in=1)
        await forward(status_supply, status_signal(status))

    async def on_ping(ping: dict[str, Any]) -> None:
        gps_supply.record(events_in=1)
        await forward(gps_supply, ping_supply.signal(ping))

    registry.shared.setdefault("gps_ping_observers", []).append(on_ping)

    @app.agent(catalog_topic(app, settings, "trips"), name=f"{settings.topic_namespace}surge-demand")
    async def surge_demand(stream: faust.StreamT) -> None:
        await read(stream, "trips", on_trip)

    @app.agent(catalog_topic(app, settings, "driver-status"), name=f"{settings.topic_namespace}surge-supply")
    async def surge_supply(stream: faust.StreamT) -> None:
        await read(stream, "driver-status", on_status)

    @app.agent(signal_topic, name=f"{settings.topic_namespace}surge-windows")
    async def surge_windows(stream: faust.StreamT) -> None:
        client = aioredis.Redis.from_url(settings.redis_url)
        async for signal in stream:
            panes.record(events_in=1)
            watermark = table.get(WATERMARK_KEY) or 0
            closed_until = watermark - config.allowed_lateness_ms  # windows ending before this were emitted
            if signal["event_time"] < closed_until - config.window_ms + config.step_ms:
                metrics.late_events.labels("surge").inc()  # no open window contains it any more
                continue
            engine.add(signal)
            metrics.events_processed.labels("surge").inc()
            if signal["event_time"] <= watermark:
                continue
            table[WATERMARK_KEY] = signal["event_time"]
            if watermark:
                for window_end in closed_window_ends(closed_until, signal["event_time"] - config.allowed_lateness_ms, config):
                    await close_windows(client, window_end, signal["session_id"])

    async def close_windows(client: Any, window_end: int, session_id: str) -> None:
        updates, live = engine.close(window_end, session_id)
        pipe = client.pipeline(transaction=False)
        if live:
            pipe.hset(keys.surge_current, mapping={zone_id: json.dumps(obj) for zone_id, obj in live.items()})
        for update in updates:
            pipe.publish(keys.surge_channel, json.dumps(live[update["zone_id"]]))
            await surge_topic.send(key=update["zone_id"], value=update)
        await pipe.execute()
        metrics.surge_updates.inc(len(updates))
        metrics.window_closes.labels("surge").inc(len(live))
        panes.record(events_out=len(live))
        surge_sink.record(events_in=len(updates), events_out=len(updates))
        redis_sink.record(events_in=len(live), events_out=len(live))

    @app.page("/surge/")
    class SurgeView(View):
        @app.table_route(table=table, exact_key=WATERMARK_KEY)
        async def get(self, request: Request) -> Response:
            zones = [{**live_object(state), "panes": len(state["panes"])}
                     for key, state in table.items() if key not in (WATERMARK_KEY, WATERMARK_KEY.encode())]
            return self.json({"watermark": table.get(WATERMARK_KEY), "window_ms": config.window_ms, "step_ms": config.step_ms,
                              "zones": sorted(zones, key=lambda zone: zone["zone_id"])})

    return topology
