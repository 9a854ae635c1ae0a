"""The dedup + GPS windows work written with Quix Streams: the peer baseline of bench/topologies.py.

Runs in its own virtual environment (quixstreams pins its own confluent-kafka; `make bench-peers`
builds it under .local/bench/) with the project root on PYTHONPATH for the ground-floor modules it
shares (the Avro codec, haversine, the live-state keys): decode each ping, drop event ids seen within
the dedup horizon (per entity, in Quix's RocksDB state with changelogs), fold pings into per-entity
1 s event-time windows (latest position, heading, speed, ping count, distance continuous across
windows, H3 res-8 cell), and write each closed window to Redis exactly as the Faust topology does
(GEO set, latest HASH, one pub/sub delta per flush, density counts), in a batching sink flushed on
each 1 s checkpoint. The benchmark compares the Redis HASH it leaves with the Faust worker's.

    <quix venv>/bin/python -m bench.peers.quix_gps --bootstrap HOST:PORT --topic T --group G --redis-url URL
        --namespace NS --events N --state-dir DIR --progress FILE
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import h3
import msgspec
import redis
from quixstreams import Application
from quixstreams.sinks.base import BatchingSink, SinkBatch

from schemas.codec import DecodeError, decode
from schemas.geo import haversine_m
from schemas.live_state import LiveStateKeys

WINDOW_MS = 1_000
DEDUP_HORIZON_MS = 120_000
DENSITY_RESOLUTION = 8
_encode = msgspec.json.Encoder().encode
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
_SUMMARY = ("entity_type", "entity_id", "lat", "lon", "heading_deg", "speed_kmh", "driver_status", "trip_id", "event_time",
            "window_end", "ping_count", "distance_m")


def fold(window: dict[str, Any] | None, ping: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[Any]]:
    """(new window or None if late, the closed window's summary or None, density moves)."""
    t = ping["event_time"]
    start = t - t % WINDOW_MS
    closed = None
    if window is not None and start < window["window_start"]:
        return None, None, []
    if window is None or start > window["window_start"]:
        distance = 0.0 if window is None else round(haversine_m(window["lat"], window["lon"], ping["lat"], ping["lon"]), 2)
        if window is not None:
            closed = {name: window[name] for name in _SUMMARY}
        window = {"entity_type": ping["entity_type"], "entity_id": ping["entity_id"], "window_start": start,
                  "window_end": start + WINDOW_MS, "ping_count": 1, "distance_m": distance,
                  "cell": None if window is None else window["cell"], "event_time": t, "lat": ping["lat"], "lon": ping["lon"],
                  "heading_deg": ping["heading_deg"], "speed_kmh": ping["speed_kmh"], "driver_status": ping["driver_status"],
                  "trip_id": ping["trip_id"]}
    else:
        window["ping_count"] += 1
        if t >= window["event_time"]:
            window["distance_m"] = round(window["distance_m"] + haversine_m(window["lat"], window["lon"], ping["lat"], ping["lon"]), 2)
            window.update(event_time=t, lat=ping["lat"], lon=ping["lon"], heading_deg=ping["heading_deg"],
                          speed_kmh=ping["speed_kmh"], driver_status=ping["driver_status"], trip_id=ping["trip_id"])
    moves: list[Any] = []
    cell = h3.latlng_to_cell(window["lat"], window["lon"], DENSITY_RESOLUTION)
    if cell != window["cell"]:
        kind = f"{window['entity_type']}s"
        if window["cell"]:
            moves.append((window["cell"], kind, -1))
        moves.append((cell, kind, 1))
        window["cell"] = cell
    return window, closed, moves


class RedisLiveState(BatchingSink):
    """Closed windows and density moves to Redis, one pipeline per flushed batch (Quix flushes on checkpoint)."""

    def __init__(self, url: str, keys: LiveStateKeys) -> None:
        super().__init__()
        self.client = redis.Redis.from_url(url)
        self.keys = keys

    def setup(self) -> None:
        self.client.ping()

    def write(self, batch: SinkBatch) -> None:
        pipe = self.client.pipeline(transaction=False)
        geo: list[Any] = []
        latest: dict[str, bytes] = {}
        density: list[Any] = []
        window_end = 0
        for item in batch:
            closed, moves = item.value
            density.extend(moves)
            if closed is not None:
                member = f"{closed['entity_type']}:{closed['entity_id']}"
                geo.extend((closed["lon"], closed["lat"], member))
                latest[member] = _encode(closed)
                window_end = max(window_end, closed["window_end"])
        if latest:
            pipe.geoadd(self.keys.positions_geo, geo)
            pipe.hset(self.keys.positions_latest, mapping=latest)  # type: ignore[arg-type]
            pipe.publish(self.keys.positions_channel, b'{"window_end":%d,"positions":[%s]}' % (window_end, b",".join(latest.values())))
        if density:
            args: list[Any] = [window_end]
            for cell, kind, delta in density:
                args.extend((cell, kind, delta))
            pipe.eval(_DENSITY_SCRIPT, 1, self.keys.density_h3, *args)
        pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("--bootstrap", "--topic", "--group", "--redis-url", "--namespace", "--state-dir", "--progress"):
        parser.add_argument(name, required=True)
    parser.add_argument("--events", type=int, required=True)
    args = parser.parse_args()
    app = Application(broker_address=args.bootstrap, consumer_group=args.group, auto_offset_reset="earliest",
                      commit_interval=1.0, state_dir=args.state_dir, loglevel="WARNING")
    topic = app.topic(args.topic, key_deserializer="bytes", value_deserializer="bytes")
    sdf = app.dataframe(topic)
    progress = {"count": 0}

    def process(value: bytes, state: Any) -> Any:
        progress["count"] += 1
        if progress["count"] % 5_000 == 0 or progress["count"] >= args.events:  # what the benchmark polls, atomically
            partial = Path(args.progress).with_suffix(".partial")
            partial.write_text(json.dumps({"events": progress["count"]}))
            os.replace(partial, args.progress)
        if progress["count"] >= args.events:
            app.stop()
        try:
            name, ping = decode(value)
        except DecodeError:
            return None
        if name != "gps_ping":
            return None
        seen: dict[str, int] = state.get("seen", {})
        if ping["event_id"] in seen:
            return None
        cutoff = ping["event_time"] - DEDUP_HORIZON_MS
        seen = {event_id: t for event_id, t in seen.items() if t >= cutoff}
        seen[ping["event_id"]] = ping["event_time"]
        state.set("seen", seen)
        window, closed, moves = fold(state.get("window"), ping)
        if window is None:
            return None
        state.set("window", window)
        return (closed, moves) if closed is not None or moves else None

    sdf = sdf.apply(process, stateful=True).filter(lambda value: value is not None)
    sdf.sink(RedisLiveState(args.redis_url, LiveStateKeys(args.namespace)))
    app.run()


if __name__ == "__main__":
    main()
