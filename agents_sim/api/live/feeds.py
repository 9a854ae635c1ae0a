"""Feeds that push live changes into the hub and answer the snapshot parts.

- `RedisFeed`: the GPS and surge topologies' output (schemas/live_state.py): positions from the
  batched-delta channel (optional) and surge from the surge channel; snapshots from the hashes.
- `SimulationPositionFeed`: positions read from the simulation itself, for runs without a Faust worker
  (`rideshare api --positions simulation`); it sends only the positions that changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agents_sim.api.live.coalesce import JsonObject, position_key
from agents_sim.api.live.hub import LiveHub
from agents_sim.api.runtime_port import SimulationControl
from schemas.live_state import LiveStateKeys

__all__ = ["RedisFeed", "SimulationPositionFeed", "changed_positions", "normalise_position"]

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
        return await self._hash_values(self.keys.positions_latest)

    async def surge_snapshot(self) -> list[JsonObject]:
        return await self._hash_values(self.keys.surge_current)

    async def _hash_values(self, key: str) -> list[JsonObject]:
        try:
            values = await self.client.hvals(key)
        except RedisError as exc:
            log.warning("cannot read %s from Redis (%s): the snapshot goes without it", key, exc)
            return []
        return [value for value in map(_parse, values) if isinstance(value, dict)]

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
                self.hub.push_positions([p for p in positions if isinstance(p, dict)])
        elif channel == self.keys.surge_channel:
            self.hub.push_surge(payload)


Fingerprint = tuple[Any, ...]


def changed_positions(last: dict[str, Fingerprint], positions: list[JsonObject]) -> tuple[list[JsonObject], dict[str, Fingerprint]]:
    """The positions that moved or changed status since `last`, plus removal markers for entities that
    left the map; returns them with the new fingerprints to compare the next poll against."""
    current: dict[str, Fingerprint] = {}
    changed: list[JsonObject] = []
    for position in positions:
        key = position_key(position)
        fingerprint = (position.get("lat"), position.get("lon"), position.get("driver_status"), position.get("status"))
        current[key] = fingerprint
        if last.get(key) != fingerprint:
            changed.append(position)
    for gone in last.keys() - current.keys():
        # Left the map (went offline / rider picked up): the clients drop the marker.
        entity_type, _, entity_id = gone.partition(":")
        changed.append({"entity_type": entity_type, "entity_id": entity_id, "removed": True})
    return changed, current


def normalise_position(position: JsonObject) -> JsonObject:
    """The simulation's position dict in the live-state shape (entity_type, entity_id, lat, lon, driver_status...)."""
    out = dict(position)
    if "entity_id" not in out:
        out["entity_id"] = out.get("driver_id") or out.get("rider_id") or out.get("id")
    if "entity_type" not in out:
        out["entity_type"] = "rider" if out.get("rider_id") and not out.get("driver_id") else "driver"
    if out["entity_type"] == "driver" and "driver_status" not in out and "status" in out:
        out["driver_status"] = out["status"]
    return out


class SimulationPositionFeed:
    """Polls `runtime.positions()` and pushes the entities that moved or changed status."""

    def __init__(self, runtime: SimulationControl, hub: LiveHub, *, interval_s: float = 0.5) -> None:
        self.runtime = runtime
        self.hub = hub
        self.interval_s = interval_s
        self._last: dict[str, Fingerprint] = {}

    async def positions_snapshot(self) -> list[JsonObject]:
        return [normalise_position(p) for p in await asyncio.to_thread(self.runtime.positions)]

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
                changed, self._last = changed_positions(self._last, positions)
                self.hub.push_positions(changed)
            await asyncio.sleep(self.interval_s)
