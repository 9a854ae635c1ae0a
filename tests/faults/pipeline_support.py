"""The pipeline under fault: a producer that keeps sending, real workers under the restarting supervisor,
and the checks that nothing was lost, doubled or left stuck.

- `SteadyLoad` sends a mix of valid events to every event topic at a fixed rate from a thread (event
  time = wall clock, unique event ids, keys spread over every partition) and remembers every id.
- `Pipeline` runs one real-time and one bronze worker under `rideshare.worker_pool.WorkerPool`, ticked
  from a thread, so a worker that exits (or is killed) is started again by the supervisor, not the test.
- `wait_positions_after` proves the real-time path flows: every driver's live position in Redis comes
  from a ping sent after the given instant.
- `assert_bronze_exact` proves bronze: every offset of every event topic is one row, and the event ids
  in bronze are exactly the ids the producer sent, each once.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException

from core.consumer_lag import ConsumerLagError, RenewingAdmin, committed_offsets, end_offsets
from core.producer import EventProducer
from core.settings import Settings
from lakehouse.bronze.specs import EVENT_TABLES
from rideshare.supervisor import wait_until as poll_until
from rideshare.worker_pool import WorkerPool, WorkerSpec
from rideshare.worker_process import free_port, settings_env
from schemas.catalog import topic_for_schema, topic_spec
from streams.app import WorkerRole, app_id_for
from tests.faults.streams_support import positions
from tests.integration.bronze_support import assert_every_offset_exactly_once, bronze_rows
from tests.unit.schemas.samples import SAMPLES

__all__ = ["DRIVERS", "FaultOutcome", "Loads", "Pipeline", "SteadyLoad", "assert_bronze_exact", "now_ms", "ride_out_fault",
           "wait_bronze_caught_up", "wait_positions_after", "wait_until"]

DRIVERS = 48  # spread over all 12 GPS partitions: every partition must flow for every driver to move on
# One round of the load: mostly GPS, as in the simulation, and at least one event of every other producer topic.
ROUND = ("gps_ping",) * 8 + ("trip_event", "driver_status", "rating", "payment", "driver_profile", "rider_profile")
CONTROL_EVERY = 50  # rounds between two simulation_control events (a topic with one partition)

# Faust's defaults wait 60 s for a killed member's session to expire before its partitions move; the
# broker allows 6 s and up. A short session keeps the kill tests short; the exactly-once logic is the same.
FAST_GROUP_ENV = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "1"}


def wait_until(check: Callable[[], bool], *, timeout_s: float, what: str, poll_s: float = 0.5) -> None:
    if not poll_until(check, timeout_s=timeout_s, interval_s=poll_s):
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class SteadyLoad:
    """A producer thread sending `rate_per_s` events per second until `stop()`."""

    def __init__(self, settings: Settings, *, rate_per_s: float, tag: str) -> None:
        self.producer: EventProducer = EventProducer(settings)
        self.rate_per_s = rate_per_s
        self.tag = tag  # event ids are unique across the loads of one namespace
        self.sent: dict[str, list[str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="steady-load", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> SteadyLoad:
        self._thread.start()
        return self

    def _event(self, schema_name: str, n: int, now_ms: int) -> dict[str, Any]:
        event = copy.deepcopy(SAMPLES[schema_name])
        event["event_id"] = self._event_id(schema_name, n)
        event["event_time"] = now_ms
        key_field = topic_for_schema(schema_name).key_field
        if schema_name == "gps_ping":
            driver = n % DRIVERS
            event.update(entity_id=f"D{driver:05d}", lat=-23.56 + driver * 1e-3, lon=-46.65 + (n % 7) * 1e-4)
        elif key_field is not None:
            event[key_field] = f"{key_field}-{n % 101}"  # keys over every partition
        return event

    def _event_id(self, schema_name: str, n: int) -> str:
        return f"{self.tag}-{schema_name}-{n:08d}"

    def _run(self) -> None:
        try:
            n, started = 0, time.monotonic()
            while not self._stop.is_set():
                names = ROUND + (("simulation_control",) if (n // len(ROUND)) % CONTROL_EVERY == 0 else ())
                now_ms = time.time_ns() // 1_000_000
                for name in names:
                    self.producer.send(name, self._event(name, n, now_ms))
                    self.sent.setdefault(name, []).append(self._event_id(name, n))
                    n += 1
                ahead_s = n / self.rate_per_s - (time.monotonic() - started)
                if ahead_s > 0:
                    self._stop.wait(ahead_s)
        except BaseException as exc:  # reported by stop(): a failing producer must fail the test
            self.error = exc

    @property
    def count(self) -> int:
        return sum(len(ids) for ids in self.sent.values())

    def stop(self, *, flush_timeout_s: float = 120.0) -> int:
        """Stop sending, wait until every event is acknowledged (raises on any delivery failure); returns how many."""
        self._stop.set()
        self._thread.join(30)
        if self.error is not None:
            raise AssertionError(f"the load producer failed: {self.error!r}") from self.error
        self.producer.close(flush_timeout_s)  # or its client would keep reconnecting to a cluster stopped after the test
        return self.count


class Loads:
    """Every load sent into one namespace: bronze must end up with exactly the events all of them sent."""

    def __init__(self) -> None:
        self.all: list[SteadyLoad] = []

    def start(self, settings: Settings, *, tag: str, rate_per_s: float = 400) -> SteadyLoad:
        load = SteadyLoad(settings, rate_per_s=rate_per_s, tag=tag).start()
        self.all.append(load)
        return load


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Pipeline:
    """One real-time and one bronze worker under the supervisor (`WorkerPool`), which restarts either if it exits."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("RIDESHARE_")}
        env = environment | settings_env(settings) | FAST_GROUP_ENV
        specs = [WorkerSpec(WorkerRole.REALTIME, free_port()), WorkerSpec(WorkerRole.BRONZE, free_port())]
        self.events: list[str] = []
        self.pool = WorkerPool(specs, log_dir, on_event=self.events.append, env=env)
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="worker-pool", daemon=True)

    def start(self) -> Pipeline:
        self.pool.start()
        self._ticker.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            self.pool.tick()

    def child(self, role: WorkerRole) -> Any:
        return next(child for child in self.pool.children if child.spec.role == role)

    def kill(self, role: WorkerRole) -> None:
        """kill -9 the worker of `role` (its process group). The supervisor restarts it."""
        self.child(role).process.kill()

    def restarts(self, role: WorkerRole) -> int:
        return int(self.child(role).restarts)

    def logs(self, lines: int = 40) -> str:
        parts = []
        for child in self.pool.children:
            path = child.process.log_file
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts) + "\n--- supervisor\n" + "\n".join(self.events)

    def stop(self) -> None:
        self._stop.set()
        self._ticker.join(5)
        self.pool.stop()


def latest_positions(settings: Settings) -> dict[str, int]:
    """entity id -> event time of its live position in Redis."""
    return {summary["entity_id"]: int(summary["event_time"]) for summary in positions(settings).values()}


def wait_positions_after(settings: Settings, after_ms: int, *, timeout_s: float, pipeline: Pipeline) -> float:
    """Wait until every driver's live position comes from a ping sent after `after_ms`; returns the seconds it took."""
    started = time.monotonic()

    def fresh() -> bool:
        positions = latest_positions(settings)
        return len(positions) >= DRIVERS and all(t > after_ms for t in positions.values())

    try:
        wait_until(fresh, timeout_s=timeout_s, what="live positions from pings sent after the fault")
    except AssertionError as exc:
        positions = latest_positions(settings)
        stale = sorted(entity for entity, t in positions.items() if t <= after_ms)
        raise AssertionError(f"{exc}: {len(positions)} positions, stale {stale[:12]}\n{pipeline.logs()}") from None
    return time.monotonic() - started


_lag_admins: dict[str, RenewingAdmin] = {}


def group_lag(settings: Settings, role: WorkerRole) -> int | None:
    """Records the role's consumer group is behind on the event topics (None until it committed on all of them,
    and while the broker cannot tell yet: the group coordinator loads its offsets for a while after a restart).
    Read as `--speed auto` reads lag, with an admin client renewed after a failed reading (a client that
    lived through the broker restart may never be answered again)."""
    renewing = _lag_admins.setdefault(settings.bootstrap_servers, RenewingAdmin(settings.bootstrap_servers, timeout_s=10))
    admin = renewing.client
    topics = {topic_spec(table.topic_key).qualified(settings.topic_namespace) for table in EVENT_TABLES}
    try:
        committed = committed_offsets(admin, app_id_for(settings, role), timeout_s=10)
        metadata = admin.list_topics(timeout=10)
        end = end_offsets(admin, [(topic, p) for topic in topics for p in metadata.topics[topic].partitions], timeout_s=10)
    except (ConsumerLagError, KafkaException):
        renewing.renew()
        return None
    if any(offset > 0 and partition not in committed for partition, offset in end.items()):
        return None
    return sum(max(0, offset - committed.get(partition, 0)) for partition, offset in end.items())


def wait_bronze_caught_up(settings: Settings, *, timeout_s: float, pipeline: Pipeline) -> None:
    """Bronze's group committed every record (it commits offsets only after the Delta commit)."""
    try:
        wait_until(lambda: group_lag(settings, WorkerRole.BRONZE) == 0, timeout_s=timeout_s, what="bronze to catch up")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{pipeline.logs()}") from None


def assert_bronze_exact(settings: Settings, loads: Loads) -> dict[str, int]:
    """Every offset of every event topic is one bronze row, and the event ids in bronze are exactly those the
    loads sent, each once. Returns rows per topic."""
    rows = {table.topic_key: assert_every_offset_exactly_once(settings, table.topic_key) for table in EVENT_TABLES}
    sent: dict[str, list[str]] = {}
    for load in loads.all:
        for schema_name, ids in load.sent.items():
            sent.setdefault(schema_name, []).extend(ids)
    for schema_name, ids in sent.items():
        topic_key = topic_for_schema(schema_name).key
        seen = Counter(bronze_rows(settings, topic_key, ["event_id"])["event_id"])
        doubled = {event_id: n for event_id, n in seen.items() if n > 1}
        missing = set(ids) - set(seen)
        assert not doubled and not missing, (f"{topic_key}: {len(missing)} sent events missing from bronze (e.g. "
                                             f"{sorted(missing)[:3]}), {len(doubled)} doubled (e.g. {list(doubled.items())[:3]})")
        assert set(seen) == set(ids), f"{topic_key}: bronze holds events nobody sent: {sorted(set(seen) - set(ids))[:3]}"
    return rows


@dataclass(frozen=True)
class FaultOutcome:
    sent: int  # events the load sent (all acknowledged)
    flowing_s: float  # from the start of the load until every driver's live position was fresh
    fault_s: float  # the fault itself
    recovered_s: float  # from the end of the fault until every driver's live position was fresh again
    caught_up_s: float  # from the end of the load until bronze had committed every record
    rows: dict[str, int]  # bronze rows per topic (every offset exactly once)


def ride_out_fault(settings: Settings, pipeline: Pipeline, loads: Loads, *, tag: str, fault: Callable[[], None]) -> FaultOutcome:
    """Send a steady load, let the pipeline flow, inject `fault` (it returns when the fault is over), then prove
    that the real-time path recovered by itself and that bronze lost and doubled nothing."""
    load = loads.start(settings, tag=tag)
    flowing_s = wait_positions_after(settings, now_ms(), timeout_s=120, pipeline=pipeline)
    fault_started = time.monotonic()
    fault()
    fault_s = time.monotonic() - fault_started
    recovered_s = wait_positions_after(settings, now_ms(), timeout_s=120, pipeline=pipeline)
    sent = load.stop()
    load_stopped = time.monotonic()
    wait_bronze_caught_up(settings, timeout_s=120, pipeline=pipeline)
    caught_up_s = time.monotonic() - load_stopped
    return FaultOutcome(sent, round(flowing_s, 1), round(fault_s, 1), round(recovered_s, 1), round(caught_up_s, 1),
                        assert_bronze_exact(settings, loads))
