"""Where the simulation's surge multipliers come from. The simulation never computes surge: it asks a
`SurgeSource` for the latest multiplier of a zone (1.0 when none is known).

- `StaticSurge(mapping)`: fixed multipliers (tests); empty = 1.0 everywhere (`off`).
- `KafkaSurge(settings)` (`live`): consumes the catalog's `surge` topic; `poll()`, called by the
  simulation every few simulated seconds, applies every update received since, latest per zone. What
  a run sees depends on how fast the workers are: the demo's mode, not replayable.
- `LockstepSurge(settings, producer)` (`lockstep`): the closed loop that replays byte for byte. A
  session starts (`begin`, before its first event) with a step marker at its first instant, so the
  surge topology treats the run as lockstep from its first signal. The simulation then advances in
  surge steps of `step_ms` of event time; at each boundary B the runtime calls
  `complete_step(session, B)`, which sends the step marker (schemas/markers.py) to every partition of
  the marked topics, waits until every event and marker is acknowledged, then reads the surge topic
  until it has the surge topology's marker of (session, B) on every surge partition, applying the
  surge updates of this run (the producer's run id, `schemas.markers.RUN_HEADER`) that came before
  them. The multipliers applied in step k+1 are exactly those computed from the events of steps up to
  k, whatever the workers' speed.

A source with `step_ms` (not None) is lockstep: the runtime caps each slice of simulated time at the
next boundary and calls `complete_step` there (outside its lock), which returns the seconds it waited.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from agents_sim.exceptions import SurgeLoopError
from core.producer import EventProducer
from core.settings import Settings
from schemas.catalog import topic_spec
from schemas.codec import DecodeError, decode
from schemas.markers import StepMarker, parse_marker, run_id_of

__all__ = ["KafkaSurge", "LockstepSurge", "StaticSurge", "SurgeSource"]

log = logging.getLogger(__name__)

DEFAULT_STEP_TIMEOUT_S = 120.0


class SurgeSource(Protocol):
    mode: str  # how multipliers reach the simulation: off, static, live, lockstep, in-process
    step_ms: int | None  # surge step of a lockstep source (event time), None otherwise

    def multiplier(self, zone_id: str) -> float: ...

    def begin(self, session_id: str, start_ms: int) -> None:
        """A session starts at `start_ms`; called before it emits its first event."""
        ...

    def poll(self) -> int:
        """Apply updates received since the last call (live sources); return how many were applied."""
        ...

    def complete_step(self, session_id: str, step_end_ms: int) -> float:
        """Close the step ending at `step_end_ms` and apply its result (lockstep sources); seconds waited."""
        ...

    def snapshot(self) -> dict[str, float]: ...

    def close(self) -> None: ...


class StaticSurge:
    step_ms: int | None = None

    def __init__(self, multipliers: Mapping[str, float] | None = None) -> None:
        self._multipliers = dict(multipliers or {})
        self.mode = "static" if self._multipliers else "off"

    def multiplier(self, zone_id: str) -> float:
        return self._multipliers.get(zone_id, 1.0)

    def set(self, zone_id: str, value: float) -> None:
        self._multipliers[zone_id] = value
        self.mode = "static"

    def begin(self, session_id: str, start_ms: int) -> None:
        return None

    def poll(self) -> int:
        return 0

    def complete_step(self, session_id: str, step_end_ms: int) -> float:
        return 0.0

    def snapshot(self) -> dict[str, float]:
        return dict(self._multipliers)

    def close(self) -> None:
        return None


def _surge_update(message: Any) -> dict[str, Any] | None:
    """The surge_update record of a surge-topic message, None (logged) when it is anything else."""
    try:
        schema, record = decode(message.value())
    except DecodeError as exc:
        log.warning("skipping an undecodable surge record (%s)", exc.reason)
        return None
    return record if schema == "surge_update" else None


class KafkaSurge:
    """Live mode: the latest multiplier per zone from the surge topic (compacted, read from the beginning)."""

    mode = "live"
    step_ms: int | None = None

    def __init__(self, settings: Settings, *, group_id: str | None = None) -> None:
        self.topic = topic_spec("surge").qualified(settings.topic_namespace)
        self._consumer = Consumer({
            "bootstrap.servers": settings.bootstrap_servers,
            # A private group per run: every simulation reads the whole compacted state.
            "group.id": group_id or f"sim-surge-{uuid.uuid4().hex[:12]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        self._consumer.subscribe([self.topic])
        self._multipliers: dict[str, float] = {}
        self.applied = 0
        self.rejected = 0

    def multiplier(self, zone_id: str) -> float:
        return self._multipliers.get(zone_id, 1.0)

    def begin(self, session_id: str, start_ms: int) -> None:
        return None

    def poll(self, timeout_s: float = 0.0, max_messages: int = 1000) -> int:
        applied = 0
        for message in self._consumer.consume(max_messages, timeout=timeout_s):
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("surge consumer error: %s", message.error())
                continue
            if message.value() is None:  # a step marker of a lockstep run (or a compaction tombstone)
                continue
            record = _surge_update(message)
            if record is None:
                self.rejected += 1
                continue
            self._multipliers[record["zone_id"]] = max(1.0, float(record["surge_multiplier"]))
            applied += 1
        self.applied += applied
        return applied

    def complete_step(self, session_id: str, step_end_ms: int) -> float:
        return 0.0

    def snapshot(self) -> dict[str, float]:
        return dict(self._multipliers)

    def close(self) -> None:
        self._consumer.close()


_NO_LEADER_YET = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PART}


class LockstepSurge:
    """Lockstep mode: see the module docstring. `producer` is the run's event producer (the Kafka sink's),
    so the markers follow the events on each partition.

    The surge partitions are read from their end offsets at construction, and only records carrying this
    run's id are taken: records of earlier runs, and of other simulations on the same topics, are skipped."""

    mode = "lockstep"

    def __init__(self, settings: Settings, producer: EventProducer, *, step_ms: int | None = None,
                 timeout_s: float = DEFAULT_STEP_TIMEOUT_S) -> None:
        self.step_ms: int | None = step_ms or settings.surge_step_ms
        self.timeout_s = timeout_s
        self.topic = topic_spec("surge").qualified(settings.topic_namespace)
        self._producer = producer
        self._run_id = producer.run_id
        self._sessions: set[str] = set()
        self._multipliers: dict[str, float] = {}
        self._held: dict[int, list[Any]] = {}  # records read past this step's marker, kept for the next step
        self.applied = 0
        self.steps = 0
        self.waited_s = 0.0
        self._consumer = Consumer({
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"sim-lockstep-{uuid.uuid4().hex[:12]}",  # assigned, never committed: no group state
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,  # a marker is one small record: do not let the broker sit on it
        })
        self._partitions = self._assign_at_end()

    def _assign_at_end(self) -> list[int]:
        try:
            metadata = self._consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
            if metadata is None or metadata.error is not None or not metadata.partitions:
                raise SurgeLoopError(f"the surge topic {self.topic} does not exist; create the catalog's topics with "
                                     "`rideshare topics create` and start a worker (`rideshare worker`)")
            partitions = sorted(metadata.partitions)
            assignment = [TopicPartition(self.topic, partition, self._end_offset(partition)) for partition in partitions]
        except KafkaException as exc:
            raise SurgeLoopError(f"cannot read the surge topic {self.topic}: {exc.args[0]}; is Kafka up (`rideshare infra up`)?") from exc
        self._consumer.assign(assignment)
        return partitions

    def _end_offset(self, partition: int, *, settle_s: float = 15.0) -> int:
        """The partition's end offset; a topic created a moment ago has no leader yet for a few seconds."""
        deadline = time.monotonic() + settle_s
        while True:
            try:
                return int(self._consumer.get_watermark_offsets(TopicPartition(self.topic, partition), timeout=10)[1])
            except KafkaException as exc:
                if exc.args[0].code() not in _NO_LEADER_YET or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def multiplier(self, zone_id: str) -> float:
        return self._multipliers.get(zone_id, 1.0)

    def begin(self, session_id: str, start_ms: int) -> None:
        """The session's first marker, before any of its events: the surge topology runs it in lockstep."""
        self._producer.send_markers(StepMarker(session_id, start_ms))
        self._producer.flush()
        self._sessions.add(session_id)

    def poll(self) -> int:
        return 0  # multipliers change only at step boundaries

    def complete_step(self, session_id: str, step_end_ms: int) -> float:
        if session_id not in self._sessions:
            raise SurgeLoopError(f"lockstep session {session_id} was not begun before its first event (a reset or a "
                                 "restored world in lockstep is not supported: use --surge live for the control API)")
        started = time.monotonic()
        marker = StepMarker(session_id, step_end_ms)
        self._producer.send_markers(marker)
        self._producer.flush()
        closed: set[int] = set()
        for partition, records in list(self._held.items()):
            del self._held[partition]
            self._take(records, marker, closed)
        deadline = started + self.timeout_s
        while len(closed) < len(self._partitions):
            if time.monotonic() > deadline:
                raise SurgeLoopError(self._timeout_message(marker, closed))
            # poll returns at the first record (consume would wait out its timeout for a full batch)
            first = self._consumer.poll(0.2)
            if first is not None:
                self._take([first, *self._consumer.consume(500, timeout=0)], marker, closed)
        waited = time.monotonic() - started
        self.steps += 1
        self.waited_s += waited
        return waited

    def _take(self, messages: list[Any], marker: StepMarker, closed: set[int]) -> None:
        """Apply the session's updates of partitions whose marker has not come yet; hold what follows a marker."""
        for message in messages:
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    raise SurgeLoopError(f"reading the surge topic failed: {message.error().str()}")
                continue
            if run_id_of(message.headers()) != self._run_id:
                continue  # another run's marker or update
            partition = message.partition()
            if partition in closed:
                self._held.setdefault(partition, []).append(message)
                continue
            seen = parse_marker(message.headers())
            if seen is not None:
                if seen == marker:
                    closed.add(partition)
                elif seen.session_id == marker.session_id and seen.step_end_ms > marker.step_end_ms:
                    raise SurgeLoopError(f"the surge topology published step {seen.step_end_ms} before step {marker.step_end_ms} "
                                         f"of session {marker.session_id}")
                continue
            if message.value() is None:
                continue  # a compaction tombstone
            record = _surge_update(message)
            if record is not None and record["session_id"] == marker.session_id:
                self._multipliers[record["zone_id"]] = max(1.0, float(record["surge_multiplier"]))
                self.applied += 1

    def _timeout_message(self, marker: StepMarker, closed: set[int]) -> str:
        missing = [p for p in self._partitions if p not in closed]
        return (f"no surge result for the step ending at {marker.step_end_ms} (session {marker.session_id}) within "
                f"{self.timeout_s:.0f} s: the surge topology's marker is missing on partition(s) {missing} of {self.topic}. "
                "Start a worker with the surge topology on the same topic namespace (`rideshare worker`), or run the "
                "simulation with `--surge live` (wall-clock surge, not replayable) or `--surge off`.")

    def snapshot(self) -> dict[str, float]:
        return dict(self._multipliers)

    def close(self) -> None:
        self._consumer.close()
