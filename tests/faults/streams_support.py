"""What the stream fault tests share: a namespace of their own, producers of valid events, metric reads."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import redis

from core.producer import EventProducer
from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.live_state import LiveStateKeys
from tests.integration.bronze_support import isolated_settings
from tests.unit.lakehouse.bronze_poison import valid_event

__all__ = ["isolated_settings", "metric", "positions", "produce_gps", "wait_for_value"]


def produce_gps(settings: Settings, count: int, *, start_ms: int, drivers: int = 20, prefix: str = "p",
                producer: EventProducer | None = None) -> EventProducer:
    """`count` valid pings of `drivers` drivers, one per driver per second of event time from `start_ms`."""
    producer = producer or EventProducer(settings)
    for n in range(count):
        event = valid_event("gps_ping", 0, start_ms + (n // drivers) * 1_000 + n % drivers)
        driver = f"D{n % drivers:05d}"
        producer.send("gps_ping", event | {"event_id": f"{prefix}-{n}", "entity_id": driver, "correlation_id": driver,
                                           "driver_status": "available"})
    producer.flush()
    return producer


def positions(settings: Settings) -> dict[str, Any]:
    """The live positions the real-time workers wrote to Redis (member -> summary)."""
    import json

    client = redis.Redis.from_url(settings.redis_url)
    return {m.decode(): json.loads(v) for m, v in client.hgetall(LiveStateKeys(settings.topic_namespace).positions_latest).items()}


def metric(worker: WorkerProcess, name: str, **labels: str) -> float:
    """The sum of a Prometheus counter/gauge of a worker's /metrics over the samples matching `labels`."""
    total = 0.0
    for line in worker.get_text("/metrics").splitlines():
        match = re.match(rf"^{re.escape(name)}(?:_total)?(\{{[^}}]*\}})? (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def wait_for_value(read: Any, predicate: Any, *, timeout_s: float, what: str, worker: WorkerProcess | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        if worker is not None and not worker.running():
            raise AssertionError(f"{worker.name} exited with code {worker.returncode} while waiting for {what}; see {worker.log_path}")
        try:
            value = read()
        except OSError:
            value = None
        if value is not None and predicate(value):
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last value: {value!r})")


def log_of(worker: WorkerProcess) -> str:
    return Path(worker.log_path).read_text(errors="replace")
