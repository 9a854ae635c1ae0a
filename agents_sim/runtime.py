"""`SimulationRuntime`: one simulation run in a background thread, controlled from other threads.

The control API (FastAPI, same process) and `rideshare sim run` drive a simulation through this
class. Thread model: a single sim thread owns the SimPy loop. Control commands are queued (bounded)
and applied by the sim thread between steps; read-only views take a lock the sim thread releases after
every short step (a few ms of wall time), so a view never waits long and never sees a half-step.
**The sim thread never holds the lock while it waits on Kafka**: broker backpressure and the lockstep
surge barrier are waited for between steps, outside the lock.

States::

    CREATED --start()--> RUNNING --pause()--> DRAINING --(no active trip, or timeout)--> PAUSED
    PAUSED --resume()--> RUNNING            any --stop()--> STOPPED (thread ends, sink flushed)

- `pause(drain_timeout_s)` is two-phase and returns at once: DRAINING stops new requests and lets
  trips finish; trips still active `drain_timeout_s` *simulated* seconds later are cancelled by the
  system (reason `drain_timeout`); then PAUSED. Poll `status()["state"]`.
- `set_speed(speed)`: a factor of real time, `max` (as fast as possible) or `auto` (paced by the stream
  workers' consumer lag through `lag_probe`, see agents_sim.pacing); spellings and bounds are
  schemas.limits'.
- `reset()`: a fresh world from the same config (new session id `<session>-r<n>`); keeps the state
  (a running runtime keeps running).
- `spawn_drivers(n)` / `spawn_riders(n)`: add agents (at most `SPAWN_PER_REQUEST_MAX` per call and the
  config's max_drivers / max_riders in total, ValueError beyond) and return their ids.
- `subscribe(callback)`: `callback(change: dict)` for every trip event (keys: trip_id, event_type,
  state, event_time, rider_id, driver_id, pickup_zone_id, dropoff_zone_id, fare_brl, cancelled_by,
  cancel_reason). Called on the sim thread: keep it cheap (e.g. put on a queue). Returns an
  unsubscribe function.
- `checkpoint(path)` / `restore(path)`: write the whole world (agents, trips in flight, RNG states,
  clock) to a file and load it back; see agents_sim.checkpoint.
- `osrm_url`: route with an OSRM server instead of the built-in street-grid router (optional).
- `end_ms`: when given, the sim thread stops by itself (STOPPED, sink flushed) once simulated time
  reaches it exactly (`rideshare sim run --duration`); `wait(timeout_s)` blocks until the thread ends.
- Surge: with a `KafkaSink` the runtime consumes the surge topic (`KafkaSurge`); otherwise it uses
  the injected `surge` source or 1.0 everywhere. A lockstep source (`surge.step_ms` set) makes the sim
  thread stop each slice at the next surge-step boundary (epoch multiples of `step_ms`) and call
  `surge.complete_step(session, boundary)` there, outside the lock (it waits on Kafka; never while the
  broker is known to be unavailable); `surge_wait_s` sums the seconds it waited.
- Backpressure: a sink with a bounded queue (`sink.backpressure`) that is congested (broker
  unavailable) makes the loop wait instead of stepping; views, commands and the status (`broker`,
  `backpressure`) keep answering, and the run continues where it stopped once the queue drains.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from agents_sim import checkpoint as checkpoints
from agents_sim import views
from agents_sim.exceptions import RuntimeBusyError, RuntimeStateError
from agents_sim.lag import LagProbe, LagWatcher
from agents_sim.pacing import AutoPacer
from agents_sim.params import SimConfig
from agents_sim.simulation import Simulation
from agents_sim.sinks import KafkaSink, Sink
from agents_sim.surge import KafkaSurge, SurgeSource
from core.exceptions import RideshareError
from schemas.limits import SPAWN_PER_REQUEST_MAX, SPEED_AUTO, SPEED_FACTOR_MAX, SPEED_FACTOR_MIN, SPEED_MAX, Speed, parse_speed
from schemas.zones import zones_geojson

__all__ = ["RuntimeState", "SimulationRuntime"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_SLICE_WALL_S = 0.02   # target wall time of one step while holding the lock
_MAX_COMMANDS = 64     # queued control commands (a full queue answers RuntimeBusyError)
_MAX_LISTENERS = 64    # trip-change subscribers
_BROKER_WAIT_S = 0.1   # one wait for the broker's queue to drain, between command checks
_COMMAND_WAIT_S = 30.0  # a control call gives up (RuntimeBusyError) when the sim thread does not take it


class RuntimeState:
    CREATED = "created"
    RUNNING = "running"
    DRAINING = "draining"
    PAUSED = "paused"
    STOPPED = "stopped"


class SimulationRuntime:
    def __init__(self, config: SimConfig, sink: Sink, *, surge: SurgeSource | None = None, speed: Speed = 1.0,
                 end_ms: int | None = None, osrm_url: str | None = None, lag_probe: LagProbe | None = None) -> None:
        self.config = config
        self.osrm_url = osrm_url
        self.end_ms = end_ms
        self.sink = sink
        if surge is None and isinstance(sink, KafkaSink):
            surge = KafkaSurge(sink.settings)
        self._surge = surge
        self._pacer = AutoPacer()
        self._lag_probe = lag_probe
        self._watcher = LagWatcher(lag_probe, self._pacer, self._achieved_while_running) if lag_probe is not None else None
        self._speed = self._valid_speed(speed)
        self._lock = threading.RLock()
        self._commands: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue(maxsize=_MAX_COMMANDS)
        self._stop_requested = threading.Event()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._resets = 0
        self.state = RuntimeState.CREATED
        self._thread: threading.Thread | None = None
        self._drain_deadline_ms = 0
        self._speed_achieved = 0.0
        self._anchor: tuple[float, int, float | None] = (time.monotonic(), 0, None)  # wall, sim ms, factor
        self.surge_wait_s = 0.0
        self._surge_step_due: tuple[str, int] | None = None  # (session, boundary) reached, to complete outside the lock
        self._loop_holds_lock = False  # the sim thread is inside its locked section (steps and commands)
        self.lock_released_waits = 0  # sends that found the queue full there and waited with the lock released
        self.waiting_for_broker = False
        self.undelivered = 0  # events still queued when the run stopped (broker unavailable)
        self.error: BaseException | None = None
        backpressure = sink.backpressure
        if backpressure is not None:
            backpressure.blocking_section = self._lock_released_for_the_broker
        self.sim = self._new_simulation(config.resolved_session_id)

    # ------------------------------------------------------------ lifecycle

    def _new_simulation(self, session_id: str) -> Simulation:
        sim = Simulation(self.config, self.sink, surge=self._surge, session_id=session_id, osrm_url=self.osrm_url)
        sim.events.trip_listeners = self._listeners
        sim.populate()
        return sim

    def start(self) -> None:
        """Start the sim thread (RUNNING)."""
        with self._lock:
            if self.state != RuntimeState.CREATED:
                raise RuntimeStateError(f"start() needs a new runtime; it is {self.state}")
            self.state = RuntimeState.RUNNING
            self._control_event("started")
            self._reanchor()
        self._thread = threading.Thread(target=self._loop, name="simulation", daemon=True)
        self._thread.start()
        if self._watcher is not None:
            self._watcher.start()

    def pause(self, drain_timeout_s: float = 120.0) -> None:
        """RUNNING -> DRAINING (returns immediately); PAUSED once trips are done or the timeout cancelled them."""
        if drain_timeout_s < 0:
            raise ValueError("drain_timeout_s must be >= 0")

        def apply() -> None:
            if self.state != RuntimeState.RUNNING:
                raise RuntimeStateError(f"pause() needs a running simulation; it is {self.state}")
            self.state = RuntimeState.DRAINING
            self.sim.accepting_requests = False
            self._drain_deadline_ms = self.sim.now + int(drain_timeout_s * 1000)
            self.sim.control_event("draining", detail=f"timeout {drain_timeout_s:g} s")
        self._call(apply)

    def resume(self) -> None:
        def apply() -> None:
            if self.state not in (RuntimeState.PAUSED, RuntimeState.DRAINING):
                raise RuntimeStateError(f"resume() needs a paused or draining simulation; it is {self.state}")
            self.state = RuntimeState.RUNNING
            self.sim.accepting_requests = True
            self._reanchor()
            self._control_event("resumed")
        self._call(apply)

    def stop(self, timeout_s: float = 30.0) -> None:
        """End the sim thread and flush the sink (idempotent). While the broker is unavailable the queued
        events are not waited for: `status()["undelivered"]` counts them (they go out if it returns)."""
        if self.state == RuntimeState.STOPPED and self._stop_requested.is_set():
            return
        self._stop_requested.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout_s)
        else:
            with self._lock:
                self._mark_stopped()
        if self._watcher is not None:
            self._watcher.stop()
        self._flush_sink()
        if self._surge is not None:
            self._surge.close()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the sim thread has ended (e.g. reached `end_ms`); True when it has."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return self.state == RuntimeState.STOPPED

    def _mark_stopped(self) -> None:
        if self.state == RuntimeState.STOPPED:
            return
        backpressure = self.sink.backpressure
        if backpressure is not None and backpressure.health.available is False and backpressure.queue_full():
            # Queuing the event would wait for a broker that may never come back: a stop must not hang.
            log.warning("the broker is unavailable and the queue is full: the run stops without its 'stopped' event")
        else:
            self.sim.control_event("stopped")
        self.state = RuntimeState.STOPPED

    def _flush_sink(self) -> None:
        backpressure = self.sink.backpressure
        if backpressure is not None and backpressure.health.available is False:
            queued = backpressure.queued()
            if queued != self.undelivered:
                log.warning("the broker is unavailable: %d events stay queued (delivered if it returns before the process exits)",
                            queued)
            self.undelivered = queued
            return
        try:
            self.sink.flush()
            self.undelivered = 0
        except RideshareError as exc:
            self.undelivered = backpressure.queued() if backpressure is not None else 0
            log.warning("flushing the sink at stop: %s", exc)

    def reset(self) -> None:
        def apply() -> None:
            self._resets += 1
            self.sim = self._new_simulation(f"{self.config.resolved_session_id}-r{self._resets}")
            self.sim.control_event("reset")
            self._reanchor()
            if self.state == RuntimeState.DRAINING:
                self.state = RuntimeState.PAUSED
        self._call(apply)

    def set_speed(self, speed: Speed) -> None:
        value = self._valid_speed(speed)

        def apply() -> None:
            if value == SPEED_AUTO and self._speed != SPEED_AUTO:
                # Start adapting from where the run is now, not from the pacer's last value.
                current = self._speed if isinstance(self._speed, float) else self._speed_achieved or 1.0
                self._pacer.factor = min(max(current, SPEED_FACTOR_MIN), SPEED_FACTOR_MAX)
            self._speed = value
            self._reanchor()
            self._control_event("speed_changed")
        self._call(apply)

    def _valid_speed(self, speed: Speed) -> Speed:
        value = parse_speed(speed)
        if value == SPEED_AUTO and self._watcher is None:
            raise ValueError(f"speed '{SPEED_AUTO}' paces by the stream workers' consumer lag, which this run cannot read "
                             f"(it has no Kafka sink): use a factor or '{SPEED_MAX}'")
        return value

    def spawn_drivers(self, n: int) -> list[str]:
        self._check_spawn(n, len(self.sim.drivers), self.config.max_drivers, "drivers")

        def apply() -> list[str]:
            ids = self.sim.spawn_drivers(n)
            self.sim.control_event("spawned", detail=f"{n} drivers")
            return ids
        return self._call(apply)

    def spawn_riders(self, n: int) -> list[str]:
        self._check_spawn(n, len(self.sim.riders), self.config.max_riders, "riders")

        def apply() -> list[str]:
            ids = self.sim.spawn_riders(n)
            self.sim.control_event("spawned", detail=f"{n} riders")
            return ids
        return self._call(apply)

    @staticmethod
    def _check_spawn(n: int, current: int, limit: int, kind: str) -> None:
        if not 1 <= n <= SPAWN_PER_REQUEST_MAX:
            raise ValueError(f"spawn 1..{SPAWN_PER_REQUEST_MAX} {kind} at a time, got {n}")
        if current + n > limit:
            raise ValueError(f"at most {limit} {kind} per simulation: {current} exist, {n} more would exceed it")

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        with self._lock:
            if len(self._listeners) >= _MAX_LISTENERS:
                raise RuntimeBusyError(f"at most {_MAX_LISTENERS} trip-change subscribers")
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)
        return unsubscribe

    def checkpoint(self, path: str | Path) -> Path:
        def apply() -> Path:
            written = checkpoints.save(self.sim, Path(path))
            self.sim.control_event("checkpointed", detail=str(written))
            return written
        return self._call(apply)

    def restore(self, path: str | Path) -> None:
        def apply() -> None:
            self.sim = checkpoints.load(Path(path), self.config, self.sink, surge=self._surge, listeners=self._listeners,
                                        osrm_url=self.osrm_url)
            self.sim.accepting_requests = self.state != RuntimeState.DRAINING
            self._reanchor()
            self.sim.control_event("restored", detail=str(path))
        self._call(apply)

    # ------------------------------------------------------------ views

    def status(self) -> dict[str, Any]:
        with self._lock:
            sim = self.sim
            return {
                "state": self.state, "session_id": sim.session_id, "seed": self.config.seed, "sim_time_ms": sim.now,
                "speed": self._speed, "speed_achieved": round(self._speed_achieved, 2),
                "auto_factor": round(self._pacer.factor, 2) if self._speed == SPEED_AUTO else None,
                "events_emitted": sim.events.counter, "drivers": len(sim.drivers), "riders": len(sim.riders),
                "active_trips": len(sim.trips), "lag": self._lag_status(), "broker": self._broker_status(),
                "backpressure": self.waiting_for_broker, "error": repr(self.error) if self.error else None,
            }

    def _lag_status(self) -> dict[str, Any] | None:
        if self._watcher is None:
            return None
        reading = self._pacer.last
        return {"group_id": self._watcher.probe.group_id, "readable": self._watcher.readable,
                "records": reading.lag_records if reading else None, "seconds": reading.lag_s if reading else None,
                "drain_per_s": reading.drain_per_s if reading else None, "target_s": self._pacer.target_lag_s}

    def _broker_status(self) -> dict[str, Any] | None:
        backpressure = self.sink.backpressure
        if backpressure is None:
            return None
        health = backpressure.health
        down_for = health.down_for_s()
        return {"available": health.available, "queued": backpressure.queued(), "undelivered": self.undelivered,
                "down_for_s": round(down_for, 1) if down_for is not None else None, "last_error": health.last_error}

    def metrics(self) -> dict[str, Any]:
        with self._lock:
            return views.metrics(self.sim)

    def trip_states(self) -> dict[str, int]:
        """Active trips by state, read under the lock like every view: the simulation thread adds and removes trips."""
        with self._lock:
            return self.sim.active_trip_states()

    def driver(self, driver_id: str) -> dict[str, Any] | None:
        with self._lock:
            driver = self.sim.drivers.get(driver_id)
            return views.driver_view(self.sim, driver) if driver is not None else None

    def rider(self, rider_id: str) -> dict[str, Any] | None:
        with self._lock:
            rider = self.sim.riders.get(rider_id)
            return views.rider_view(self.sim, rider) if rider is not None else None

    def active_trips(self) -> list[dict[str, Any]]:
        with self._lock:
            return views.active_trips(self.sim)

    def positions(self) -> list[dict[str, Any]]:
        with self._lock:
            return views.positions(self.sim)

    def zones_geojson(self) -> dict[str, Any]:
        return zones_geojson(self.sim.zones.zones)

    # ------------------------------------------------------------ the sim thread

    def _call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the sim thread between steps (or inline when no thread runs) and return its result."""
        thread = self._thread
        if thread is None or not thread.is_alive() or threading.current_thread() is thread:
            with self._lock:
                return fn()
        future: Future[T] = Future()
        try:
            self._commands.put_nowait((fn, future))
        except queue.Full:
            raise RuntimeBusyError(f"{_MAX_COMMANDS} control commands are already waiting: retry in a moment") from None
        try:
            return future.result(timeout=_COMMAND_WAIT_S)
        except TimeoutError:
            raise RuntimeBusyError(f"the simulation did not take the command within {_COMMAND_WAIT_S:g} s "
                                   "(is it waiting for the broker?): retry in a moment") from None

    def _apply_commands(self) -> None:
        while True:
            try:
                fn, future = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                future.set_result(fn())
            except BaseException as exc:  # the caller's thread re-raises it from the future
                future.set_exception(exc)

    def _loop(self) -> None:
        step_ms = 1000
        window: tuple[float, int] = (time.monotonic(), self.sim.now)
        backpressure = self.sink.backpressure
        try:
            while True:
                with self._loop_locked():
                    self._apply_commands()
                    if self._stop_requested.is_set():
                        self._mark_stopped()
                    if self.state == RuntimeState.STOPPED:
                        break
                    active = self.state in (RuntimeState.RUNNING, RuntimeState.DRAINING)
                    if backpressure is not None:
                        backpressure.poll()  # delivery and broker-health callbacks
                    # A step boundary waits for the surge loop over Kafka: not while the broker is away.
                    broker_down = backpressure is not None and backpressure.health.available is False
                    congested = active and backpressure is not None and (
                        backpressure.congested() or (broker_down and self._surge_step_due is not None))
                    if active and not congested and self._surge_step_due is None:
                        step_ms = self._step(step_ms)
                        if self.end_ms is not None and self.sim.now >= self.end_ms:
                            self._mark_stopped()
                            break
                # Outside the lock: every wait on Kafka happens here, views and commands keep answering.
                if congested:
                    self._wait_for_broker(backpressure)
                    window = self._measure_speed(window)
                    continue
                if self.waiting_for_broker:
                    log.info("the broker takes events again: the simulation continues")
                    self.waiting_for_broker = False
                due, self._surge_step_due = self._surge_step_due, None
                if due is not None:
                    self.surge_wait_s += self.sim.surge.complete_step(*due)
                if not active:
                    time.sleep(0.02)
                    window = (time.monotonic(), self.sim.now)
                    continue
                window = self._measure_speed(window)
                self._follow_auto_factor()
                if self._factor() is not None and self.sim.now >= self._target_ms():
                    time.sleep(0.005)
        except BaseException as exc:
            log.exception("the simulation thread failed")
            self.error = exc
            self.state = RuntimeState.STOPPED
        finally:
            self._flush_sink()

    def _wait_for_broker(self, backpressure: Any) -> None:
        if not self.waiting_for_broker:
            log.warning("the broker does not take events (%d queued): the simulation waits", backpressure.queued())
            self.waiting_for_broker = True
        started = time.monotonic()
        backpressure.wait_for_room(_BROKER_WAIT_S)
        left = _BROKER_WAIT_S - (time.monotonic() - started)
        if left > 0 and backpressure.health.available is False:
            time.sleep(left)  # room in the queue, but a surge step waits for the broker itself
        self._reanchor()  # simulated time stood still: do not race to catch up with the wall clock

    def _measure_speed(self, window: tuple[float, int]) -> tuple[float, int]:
        now_wall = time.monotonic()
        if now_wall - window[0] < 1.0:
            return window
        self._speed_achieved = (self.sim.now - window[1]) / 1000 / (now_wall - window[0])
        return now_wall, self.sim.now

    def _achieved_while_running(self) -> float | None:
        """For the lag watcher: the achieved factor while the run produces, None while it does not."""
        if self.state != RuntimeState.RUNNING or self.waiting_for_broker:
            return None
        return self._speed_achieved

    def _factor(self) -> float | None:
        """The factor of real time the loop paces at now; None: as fast as possible."""
        if self._speed == SPEED_MAX:
            return None
        if self._speed == SPEED_AUTO:
            return self._pacer.factor
        return float(self._speed)

    def _follow_auto_factor(self) -> None:
        if self._speed == SPEED_AUTO and self._anchor[2] != self._pacer.factor:
            self._reanchor()

    def _reanchor(self) -> None:
        self._anchor = (time.monotonic(), self.sim.now, self._factor())

    def _target_ms(self) -> int:
        wall0, sim0, factor = self._anchor
        return sim0 + int((time.monotonic() - wall0) * 1000 * (factor or 0))

    def _control_event(self, action: str) -> None:
        """A control event with the speed: the factor, null for max (the Avro field's meaning), auto's current factor."""
        speed = self._speed
        factor = None if speed == SPEED_MAX else (self._pacer.factor if speed == SPEED_AUTO else float(speed))
        self.sim.control_event(action, speed=factor, detail=f"speed {SPEED_AUTO}" if speed == SPEED_AUTO else None)

    @contextlib.contextmanager
    def _loop_locked(self) -> Iterator[None]:
        """The sim thread's locked section (commands and a step): where a full queue releases the lock to wait."""
        with self._lock:
            self._loop_holds_lock = True
            try:
                yield
            finally:
                self._loop_holds_lock = False

    @contextlib.contextmanager
    def _lock_released_for_the_broker(self) -> Iterator[None]:
        """The producer's queue filled up while the sim thread holds the lock (inside a step, or a command that
        emits many events): wait for the broker without the lock. The sim thread is the only one that changes the
        world and it is waiting, so views stay consistent, though they may see a step or a command half done;
        the loop keeps half the queue free before each step, so this is rare."""
        if not self._loop_holds_lock or threading.current_thread() is not self._thread:
            yield
            return
        self.lock_released_waits += 1
        self.waiting_for_broker = True
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()

    def _step(self, step_ms: int) -> int:
        """Advance one slice; returns the next slice size (adapted to ~_SLICE_WALL_S of wall time)."""
        sim = self.sim
        target = sim.now + step_ms
        if self._factor() is not None:
            target = min(target, max(sim.now, self._target_ms()))
        if self.state == RuntimeState.DRAINING:
            target = min(target, self._drain_deadline_ms)
        if self.end_ms is not None:
            target = min(target, self.end_ms)
        surge_step = getattr(sim.surge, "step_ms", None)  # lockstep sources set it (agents_sim.surge)
        boundary = (sim.now // surge_step + 1) * surge_step if surge_step else None
        if boundary is not None:
            target = min(target, boundary)
        started = time.monotonic()
        if target > sim.now:
            sim.run_until(target)
        if boundary is not None and sim.now >= boundary:
            self._surge_step_due = (sim.session_id, boundary)
        elapsed = time.monotonic() - started
        if self.state == RuntimeState.DRAINING:
            self._drain_step()
        if elapsed > 0:
            step_ms = int(step_ms * min(2.0, max(0.5, _SLICE_WALL_S / elapsed)))
        return max(100, min(step_ms, 600_000))

    def _drain_step(self) -> None:
        sim = self.sim
        if sim.trips and sim.now >= self._drain_deadline_ms:
            for trip in list(sim.trips.values()):
                if trip.proc is not None and trip.proc.is_alive:
                    trip.proc.interrupt("drain_timeout")
            sim.run_until(sim.now + 1)  # deliver the interrupts: every trip cancels itself
        if not sim.trips:
            self.state = RuntimeState.PAUSED
            sim.control_event("paused")
