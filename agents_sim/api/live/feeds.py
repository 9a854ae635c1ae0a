"""Feeds that push live changes into the hub and answer the snapshot parts.

- `RedisFeed`: the GPS and surge topologies' output (schemas/live_state.py): positions from the
  batched-delta channel (optional) and surge from the surge channel; snapshots from the hashes.
- `SimulationPositionFeed`: positions read from the simulation itself, for runs without a Faust worker
  (`rideshare api --positions simulation`); it sends only the positions that changed.

Whatever the source, positions and surge reach the hub in the one wire shape of the WebSocket
(`LivePosition`, `SurgeZone` in agents_sim.api.models): `live_position` and `surge_zone` translate, and
drop what cannot be drawn (a record without an id or finite coordinates) instead of passing it on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agents_sim.api.live.coalesce import JsonObject, position_key
from agents_sim.api.live.hub import LiveHub
from agents_sim.api.runtime_port import SimulationControl
from schemas.live_state import LiveStateKeys

__all__ = ["RedisFeed", "SimulationPositionFeed", "changed_positions", "live_position", "surge_zone"]

log = logging.getLogger(__name__)


def _parse(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None


class RedisFeed:
    """Subscribes to the live-state channels and forwards each message to the hub."""

    def __init__(self, client: aioredis.Redis, keys: LiveStateKeys, hub: LiveHub, *, positions: bool = True) -> None:
        self.client = client
        self.keys = keys
        self.hub = hub
        self.positions = positions
        self.messages = 0
        self.connected = False

    async def positions_snapshot(self) -> list[JsonObject]:
        return _kept(map(live_position, await self._hash_values(self.keys.positions_latest)))

    async def surge_snapshot(self) -> list[JsonObject]:
        return _kept(map(surge_zone, await self._hash_values(self.keys.surge_current)))

    async def _hash_values(self, key: str) -> list[Any]:
        try:
            values = await self.client.hvals(key)
        except RedisError as exc:
            log.warning("cannot read %s from Redis (%s): the snapshot goes without it", key, exc)
            return []
        return [_parse(value) for value in values]

    async def run(self) -> None:
        """Listen forever; reconnect with back-off when Redis goes away."""
        channels = [self.keys.surge_channel] + ([self.keys.positions_channel] if self.positions else [])
        backoff_s = 0.5
        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(*channels)
                    self.connected, backoff_s = True, 0.5
                    log.info("live feed subscribed to %s", ", ".join(channels))
                    async for message in pubsub.listen():
                        self._dispatch(message)
            except (RedisError, OSError) as exc:
                self.connected = False
                log.warning("live feed lost Redis (%s); retrying in %.1f s", exc, backoff_s)
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, 10.0)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        payload = _parse(message["data"])
        if not isinstance(payload, dict):
            log.warning("ignoring a non-JSON message on %s", channel)
            return
        self.messages += 1
        if channel == self.keys.positions_channel:
            positions = payload.get("positions")
            if isinstance(positions, list):
                self.hub.push_positions(_kept(map(live_position, positions)))
        elif channel == self.keys.surge_channel:
            zone = surge_zone(payload)
            if zone is not None:
                self.hub.push_surge(zone)


def _kept(items: Any) -> list[JsonObject]:
    return [item for item in items if item is not None]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def live_position(raw: Any) -> JsonObject | None:
    """A position from the GPS topology's live state (`driver_status`, `window_end`) or the simulation's
    views (`status`) in the WebSocket's shape; None when it cannot be drawn."""
    if not isinstance(raw, dict):
        return None
    entity_type, entity_id = raw.get("entity_type"), raw.get("entity_id")
    lat, lon = _number(raw.get("lat")), _number(raw.get("lon"))
    if entity_type not in ("driver", "rider") or not isinstance(entity_id, str) or not entity_id or lat is None or lon is None:
        return None
    status = raw.get("status") or raw.get("driver_status") or ("waiting" if entity_type == "rider" else "unknown")
    trip_id = raw.get("trip_id")
    window_end = _number(raw.get("window_end"))
    event_time = _number(raw.get("event_time")) or window_end or 0.0
    return {"entity_type": entity_type, "entity_id": entity_id, "lat": lat, "lon": lon,
            "heading_deg": _number(raw.get("heading_deg")) or 0.0, "speed_kmh": _number(raw.get("speed_kmh")) or 0.0,
            "status": str(status), "trip_id": trip_id if isinstance(trip_id, str) else None, "event_time": int(event_time),
            "window_end": int(window_end) if window_end is not None else None}


def surge_zone(raw: Any) -> JsonObject | None:
    """A zone's surge from the live state in the WebSocket's shape; None without a zone id or multiplier."""
    if not isinstance(raw, dict):
        return None
    zone_id, multiplier = raw.get("zone_id"), _number(raw.get("surge_multiplier"))
    if zone_id is None or multiplier is None:
        return None
    return {"zone_id": str(zone_id), "surge_multiplier": multiplier, "demand_count": int(_number(raw.get("demand_count")) or 0),
            "supply_count": int(_number(raw.get("supply_count")) or 0), "window_end": int(_number(raw.get("window_end")) or 0)}


Fingerprint = tuple[Any, ...]


def changed_positions(last: dict[str, Fingerprint], positions: list[JsonObject]
                      ) -> tuple[list[JsonObject], list[str], dict[str, Fingerprint]]:
    """The positions that moved or changed status since `last`, the keys of entities that left the map,
    and the new fingerprints to compare the next poll against."""
    current: dict[str, Fingerprint] = {}
    changed: list[JsonObject] = []
    for position in positions:
        key = position_key(position)
        fingerprint = (position["lat"], position["lon"], position["status"])
        current[key] = fingerprint
        if last.get(key) != fingerprint:
            changed.append(position)
    return changed, sorted(last.keys() - current.keys()), current


class SimulationPositionFeed:
    """Polls `runtime.positions()` and pushes the entities that moved or changed status."""

    def __init__(self, runtime: SimulationControl, hub: LiveHub, *, interval_s: float = 0.5) -> None:
        self.runtime = runtime
        self.hub = hub
        self.interval_s = interval_s
        self._last: dict[str, Fingerprint] = {}

    async def positions_snapshot(self) -> list[JsonObject]:
        return _kept(map(live_position, await asyncio.to_thread(self.runtime.positions)))

    async def run(self) -> None:
        while True:
            if not self.hub.clients:
                self._last = {}  # nobody watches: skip the work; the next client starts from a snapshot
                await asyncio.sleep(self.interval_s)
                continue
            try:
                positions = await self.positions_snapshot()
            except Exception:  # keep polling: one failed read must not end the feed
                log.exception("reading positions from the simulation failed")
            else:
                changed, removed, self._last = changed_positions(self._last, positions)
                self.hub.push_positions(changed, removed)
            await asyncio.sleep(self.interval_s)
