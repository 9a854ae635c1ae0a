"""`SimulationRuntime`: one simulation run in a background thread, controlled from other threads.

The control API (FastAPI, same process) and `rideshare sim run` drive a simulation through this
class. Thread model: a single sim thread owns the SimPy loop. Control commands are queued and
applied by the sim thread between steps; read-only views take a lock the sim thread releases after
every short step (a few ms of wall time), so a view never waits long and never sees a half-step.

States::

    CREATED --start()--> RUNNING --pause()--> DRAINING --(no active trip, or timeout)--> PAUSED
    PAUSED --resume()--> RUNNING            any --stop()--> STOPPED (thread ends, sink flushed)

- `pause(drain_timeout_s)` is two-phase and returns at once: DRAINING stops new requests and lets
  trips finish; trips still active `drain_timeout_s` *simulated* seconds later are cancelled by the
  system (reason `drain_timeout`); then PAUSED. Poll `status()["state"]`.
- `set_speed(x)`: real time × x (0.5..1000), or None for as fast as possible.
- `reset()`: a fresh world from the same config (new session id `<session>-r<n>`); keeps the state
  (a running runtime keeps running).
- `spawn_drivers(n)` / `spawn_riders(n)`: add agents (at most the config's max_drivers / max_riders
  in total, ValueError beyond) and return their ids.
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
  thread stop each slice at the next surge-step boundary and call `surge.complete_step(session, boundary)`
  there, outside the lock (it waits on Kafka); `surge_wait_s` sums the seconds it waited.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from agents_sim import checkpoint as checkpoints
from agents_sim import views
from agents_sim.exceptions import RuntimeStateError
from agents_sim.params import SimConfig
from agents_sim.simulation import Simulation
from agents_sim.sinks import KafkaSink, Sink
from agents_sim.surge import KafkaSurge, SurgeSource
from schemas.zones import zones_geojson

__all__ = ["MAX_SPEED", "MIN_SPEED", "RuntimeState", "SimulationRuntime"]

log = logging.getLogger(__name__)
T = TypeVar("T")
MIN_SPEED, MAX_SPEED = 0.5, 1000.0
_SLICE_WALL_S = 0.02   # target wall time of one step while holding the lock
_SPAWN_LIMIT = 10_000  # agents per spawn command


class RuntimeState:
    CREATED = "created"
    RUNNING = "running"
    DRAINING = "draining"
    PAUSED = "paused"
    STOPPED = "stopped"


class SimulationRuntime:
    def __init__(self, config: SimConfig, sink: Sink, *, surge: SurgeSource | None = None, speed: float | None = 1.0,
                 end_ms: int | None = None, osrm_url: str | None = None) -> None:
        self.config = config
        self.osrm_url = osrm_url
        self.end_ms = end_ms
        self.sink = sink
        if surge is None and isinstance(sink, KafkaSink):
            surge = KafkaSurge(sink.settings)
        self._surge = surge
        self._speed = self._valid_speed(speed)
        self._lock = threading.RLock()
        self._commands: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._resets = 0
        self.state = RuntimeState.CREATED
        self._thread: threading.Thread | None = None
        self._drain_deadline_ms = 0
        self._speed_achieved = 0.0
        self._anchor: tuple[float, int] = (time.monotonic(), 0)
        self.error: BaseException | None = None
        self.surge_wait_s = 0.0
        self._surge_step_due: tuple[str, int] | None = None  # (session, boundary) reached, to complete outside the lock
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
            self.sim.control_event("started", speed=self._speed)
            self._anchor = (time.monotonic(), self.sim.now)
        self._thread = threading.Thread(target=self._loop, name="simulation", daemon=True)
        self._thread.start()

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
            self._anchor = (time.monotonic(), self.sim.now)
            self.sim.control_event("resumed", speed=self._speed)
        self._call(apply)

    def stop(self, timeout_s: float = 30.0) -> None:
        """End the sim thread and flush the sink (idempotent)."""
        if self.state == RuntimeState.STOPPED:
            return
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._commands.put((self._mark_stopped, Future()))
            thread.join(timeout_s)
        else:
            with self._lock:
                self._mark_stopped()
        self.sink.flush()
        if self._surge is not None:
            self._surge.close()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the sim thread has ended (e.g. reached `end_ms`); True when it has."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return self.state == RuntimeState.STOPPED

    def _mark_stopped(self) -> None:
        if self.state != RuntimeState.STOPPED:
            self.sim.control_event("stopped")
            self.state = RuntimeState.STOPPED

    def reset(self) -> None:
        def apply() -> None:
            self._resets += 1
            self.sim = self._new_simulation(f"{self.config.resolved_session_id}-r{self._resets}")
            self.sim.control_event("reset")
            self._anchor = (time.monotonic(), self.sim.now)
            if self.state == RuntimeState.DRAINING:
                self.state = RuntimeState.PAUSED
        self._call(apply)

    def set_speed(self, speed: float | None) -> None:
        value = self._valid_speed(speed)

        def apply() -> None:
            self._speed = value
            self._anchor = (time.monotonic(), self.sim.now)
            self.sim.control_event("speed_changed", speed=value)
        self._call(apply)

    @staticmethod
    def _valid_speed(speed: float | None) -> float | None:
        if speed is not None and not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be {MIN_SPEED:g}..{MAX_SPEED:g} (or None for as fast as possible), got {speed}")
        return speed

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
        if not 1 <= n <= _SPAWN_LIMIT:
            raise ValueError(f"spawn 1..{_SPAWN_LIMIT} {kind} at a time, got {n}")
        if current + n > limit:
            raise ValueError(f"at most {limit} {kind} per simulation: {current} exist, {n} more would exceed it")

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        with self._lock:
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
            self._anchor = (time.monotonic(), self.sim.now)
            self.sim.control_event("restored", detail=str(path))
        self._call(apply)

    # ------------------------------------------------------------ views

    def status(self) -> dict[str, Any]:
        with self._lock:
            sim = self.sim
            return {
                "state": self.state, "session_id": sim.session_id, "seed": self.config.seed, "sim_time_ms": sim.now,
                "speed": self._speed, "speed_achieved": round(self._speed_achieved, 2), "events_emitted": sim.events.counter,
                "drivers": len(sim.drivers), "riders": len(sim.riders), "active_trips": len(sim.trips),
                "error": repr(self.error) if self.error else None,
            }

    def metrics(self) -> dict[str, Any]:
        with self._lock:
            return views.metrics(self.sim)

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
        self._commands.put((fn, future))
        return future.result(timeout=60)

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
        try:
            while True:
                with self._lock:
                    self._apply_commands()
                    if self.state == RuntimeState.STOPPED:
                        break
                    active = self.state in (RuntimeState.RUNNING, RuntimeState.DRAINING)
                    if active:
                        step_ms = self._step(step_ms)
                        if self.end_ms is not None and self.sim.now >= self.end_ms:
                            self._mark_stopped()
                            break
                due, self._surge_step_due = self._surge_step_due, None
                if due is not None:
                    self.surge_wait_s += self.sim.surge.complete_step(*due)
                if not active:
                    time.sleep(0.02)
                    window = (time.monotonic(), self.sim.now)
                    continue
                now_wall = time.monotonic()
                if now_wall - window[0] >= 1.0:
                    self._speed_achieved = (self.sim.now - window[1]) / 1000 / (now_wall - window[0])
                    window = (now_wall, self.sim.now)
                if self._speed is not None and self.sim.now >= self._target_ms():
                    time.sleep(0.005)
        except BaseException as exc:
            log.exception("the simulation thread failed")
            self.error = exc
            self.state = RuntimeState.STOPPED
        finally:
            self.sink.flush()

    def _target_ms(self) -> int:
        wall0, sim0 = self._anchor
        return sim0 + int((time.monotonic() - wall0) * 1000 * (self._speed or 0))

    def _step(self, step_ms: int) -> int:
        """Advance one slice; returns the next slice size (adapted to ~_SLICE_WALL_S of wall time)."""
        sim = self.sim
        target = sim.now + step_ms
        if self._speed is not None:
            target = min(target, max(sim.now, self._target_ms()))
        if self.state == RuntimeState.DRAINING:
            target = min(target, self._drain_deadline_ms)
        if self.end_ms is not None:
            target = min(target, self.end_ms)
        surge_step = sim.surge.step_ms
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
