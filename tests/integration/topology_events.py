"""Event factories and a worker fixture helper shared by the topology integration tests."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from core.producer import EventProducer
from core.settings import Settings, load_settings
from rideshare.topics import create_topics
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec

T0_MS = 1_790_000_040_000 - 1_790_000_040_000 % 60_000  # a whole minute, far from the wall clock on purpose


def fresh_settings(base: Settings, tmp: Path, **overrides: Any) -> Settings:
    """Own namespace (own consumer group, tables, Redis keys) and own worker data folder; topics created."""
    settings = load_settings(**{**base.model_dump(exclude={"api_admin_keys", "api_viewer_keys"}),
                                "topic_namespace": f"t{uuid.uuid4().hex[:8]}.", "local_dir": tmp, **overrides})
    create_topics(settings)
    return settings


def producer(settings: Settings) -> EventProducer:
    return EventProducer(settings)  # murmur2, as Faust routes key lookups


def base_event(event_id: str, t: int, correlation: str) -> dict[str, Any]:
    return {"event_id": event_id, "event_time": t, "session_id": "itest", "correlation_id": correlation, "causation_id": None}


def gps_ping(event_id: str, t: int, entity: str, lat: float, lon: float, status: str = "on_trip") -> dict[str, Any]:
    return {**base_event(event_id, t, entity), "entity_type": "driver", "entity_id": entity, "lat": lat, "lon": lon,
            "heading_deg": 90.0, "speed_kmh": 30.0, "accuracy_m": 5.0, "trip_id": None, "driver_status": status}


def trip_requested(event_id: str, t: int, zone_id: str) -> dict[str, Any]:
    trip_id = f"trip-{event_id}"
    return {**base_event(event_id, t, trip_id), "event_type": "requested", "trip_id": trip_id, "rider_id": f"r-{event_id}",
            "driver_id": None, "pickup_zone_id": zone_id, "dropoff_zone_id": zone_id, "pickup_lat": -23.55,
            "pickup_lon": -46.63, "dropoff_lat": -23.56, "dropoff_lon": -46.64, "surge_multiplier": 1.0,
            "fare_estimate_brl": 20.0, "fare_brl": None, "route_distance_km": None, "route_duration_s": None,
            "route_polyline": None, "offer_sequence": None, "eta_seconds": None, "cancelled_by": None, "cancel_reason": None}


def driver_available(event_id: str, t: int, driver: str, zone_id: str) -> dict[str, Any]:
    return {**base_event(event_id, t, driver), "driver_id": driver, "previous_status": "offline", "new_status": "available",
            "reason": "shift_start", "zone_id": zone_id, "driver_lat": -23.55, "driver_lon": -46.63, "trip_id": None}


class ChannelRecorder:
    """Collects the JSON messages of a Redis pub/sub channel on redis-py's background thread."""

    def __init__(self, settings: Settings, channel: str) -> None:
        self.messages: list[dict[str, Any]] = []
        self._pubsub = redis.Redis.from_url(settings.redis_url).pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(**{channel: self._on_message})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.05, daemon=True)

    def _on_message(self, message: dict[str, Any]) -> None:
        self.messages.append(json.loads(message["data"]))

    def close(self) -> None:
        self._thread.stop()
        self._thread.join(2)
        self._pubsub.close()


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.25) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")



@contextmanager
def started_worker(settings: Settings, topologies: str, *, assigned_topic: str) -> Iterator[WorkerProcess]:
    """A `rideshare worker` subprocess that owns partitions of `assigned_topic` (catalog key); stopped after."""
    process = WorkerProcess(settings, topologies=topologies, log_path=settings.local_dir / "worker.log").start()
    try:
        process.wait_assigned(topic_spec(assigned_topic).qualified(settings.topic_namespace))
        yield process
    finally:
        process.stop()
