from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agents_sim import checkpoint
from agents_sim.exceptions import CheckpointError, RuntimeStateError
from agents_sim.params import SimConfig
from agents_sim.runtime import RuntimeState, SimulationRuntime
from agents_sim.simulation import Simulation
from agents_sim.sinks import ListSink
from agents_sim.trips import TERMINAL, TripState

START = "2026-03-02T07:30:00-03:00"
CONFIG = SimConfig(seed=9, drivers=120, riders=1500, start=START)
# Trip states in which the rider waits on the street (the map shows them as waiting riders).
WAITING_FOR_PICKUP = {s.value for s in (TripState.REQUESTED, TripState.OFFER_SENT, TripState.OFFER_EXPIRED, TripState.OFFER_REJECTED,
                                        TripState.DRIVER_ASSIGNED, TripState.EN_ROUTE_PICKUP, TripState.AT_PICKUP)}


def wait_for(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.fixture
def runtime() -> SimulationRuntime:
    rt = SimulationRuntime(CONFIG, ListSink(), speed="max")
    yield rt
    rt.stop()


def test_runs_in_the_background_and_reports_status(runtime: SimulationRuntime) -> None:
    start_ms = runtime.status()["sim_time_ms"]
    runtime.start()
    wait_for(lambda: runtime.status()["sim_time_ms"] > start_ms + 15 * 60_000)
    status = runtime.status()
    assert status["state"] == RuntimeState.RUNNING and status["session_id"] == "sim-9" and status["seed"] == 9
    assert status["events_emitted"] > 0 and status["drivers"] == 120 and status["riders"] == 1500
    with pytest.raises(RuntimeStateError):
        runtime.start()


def test_real_time_speed_is_never_exceeded() -> None:
    rt = SimulationRuntime(CONFIG, ListSink(), speed=20.0)
    try:
        t0 = rt.status()["sim_time_ms"]
        began = time.monotonic()
        rt.start()
        time.sleep(0.6)
        advanced_s = (rt.status()["sim_time_ms"] - t0) / 1000
        assert 0 < advanced_s <= 20.0 * (time.monotonic() - began) + 1.0
    finally:
        rt.stop()


def test_speed_is_validated() -> None:
    rt = SimulationRuntime(CONFIG.replace(drivers=2, riders=2), ListSink())
    for bad in (0.1, 1001, -1, 0, None, "fast", float("nan")):
        with pytest.raises(ValueError, match="speed"):
            rt.set_speed(bad)  # type: ignore[arg-type]  # bad values on purpose
    with pytest.raises(ValueError, match="consumer lag"):
        rt.set_speed("auto")  # no Kafka sink: nothing to pace by
    rt.set_speed("max")
    assert rt.status()["speed"] == "max"
    rt.set_speed(1000)
    assert rt.status()["speed"] == 1000


def test_pause_drains_then_pauses_and_resume_accepts_requests_again(runtime: SimulationRuntime) -> None:
    sink = runtime.sink
    assert isinstance(sink, ListSink)
    runtime.start()
    wait_for(lambda: len(runtime.active_trips()) >= 3)
    runtime.pause(drain_timeout_s=90)
    assert runtime.status()["state"] in (RuntimeState.DRAINING, RuntimeState.PAUSED)
    wait_for(lambda: runtime.status()["state"] == RuntimeState.PAUSED)
    assert runtime.active_trips() == []
    controls = [r for s, r in sink.events if s == "simulation_control"]
    draining_at = next(r["event_time"] for r in controls if r["action"] == "draining")
    paused_at = next(r["event_time"] for r in controls if r["action"] == "paused")
    assert paused_at <= draining_at + 90_000 + 1
    trips = [r for s, r in sink.events if s == "trip_event"]
    assert not [r for r in trips if r["event_type"] == "requested" and r["event_time"] > draining_at]
    forced = [r for r in trips if r["cancel_reason"] == "drain_timeout"]
    assert all(r["cancelled_by"] == "system" for r in forced)
    frozen = runtime.status()["sim_time_ms"]
    time.sleep(0.2)
    assert runtime.status()["sim_time_ms"] == frozen
    runtime.resume()
    wait_for(lambda: any(s == "trip_event" and r["event_type"] == "requested" and r["event_time"] > frozen for s, r in sink.events))
    with pytest.raises(RuntimeStateError):
        runtime.resume()


def test_stop_ends_the_thread_and_flushes(runtime: SimulationRuntime) -> None:
    runtime.start()
    wait_for(lambda: runtime.status()["events_emitted"] > 1000)
    runtime.stop()
    assert runtime.status()["state"] == RuntimeState.STOPPED
    assert runtime.wait(1.0)
    assert runtime.sink.events[-1][1]["action"] == "stopped"  # type: ignore[attr-defined]  # a ListSink


def test_spawn_is_bounded_and_adds_agents(runtime: SimulationRuntime) -> None:
    runtime.start()
    ids = runtime.spawn_drivers(5)
    assert len(ids) == 5 and runtime.status()["drivers"] == 125
    assert runtime.driver(ids[0])["dna"]["driver_id"] == ids[0]
    assert len(runtime.spawn_riders(10)) == 10
    with pytest.raises(ValueError):
        runtime.spawn_drivers(0)
    with pytest.raises(ValueError):
        runtime.spawn_riders(CONFIG.max_riders)


def test_views_expose_positions_trips_drivers_and_metrics(runtime: SimulationRuntime) -> None:
    # Views are read at one simulated instant: a running thread would move the world between two reads
    # (at full speed a rider waiting for the car at the first read may be riding at the next one).
    runtime.sim.run_until(runtime.sim.now + 20 * 60_000)
    trips = runtime.active_trips()
    trip = next(t for t in trips if t["route"])
    lon, lat = trip["route"][0]
    assert -47 < lon < -46 and -24.1 < lat < -23.3
    positions = runtime.positions()
    waiting = {t["rider_id"] for t in trips if t["state"] in WAITING_FOR_PICKUP}
    assert waiting and {p["entity_id"] for p in positions if p["entity_type"] == "rider"} == waiting
    online = {d for d, driver in runtime.sim.drivers.items() if driver.status != "offline"}
    assert online and {p["entity_id"] for p in positions if p["entity_type"] == "driver"} == online
    metrics = runtime.metrics()
    assert len(metrics["zones"]) == 96 and metrics["overview"]["requests"] > 0
    assert sum(metrics["drivers_by_status"].values()) == 120
    assert runtime.driver("nobody") is None and runtime.rider("nobody") is None
    rider = runtime.rider(trip["rider_id"])
    assert rider is not None and 2 <= len(rider["dna"]["destinations"]) <= 5
    assert len(runtime.zones_geojson()["features"]) == 96


def test_subscribers_get_trip_changes_until_they_unsubscribe(runtime: SimulationRuntime) -> None:
    changes: list[dict] = []
    unsubscribe = runtime.subscribe(changes.append)
    runtime.start()
    wait_for(lambda: len(changes) > 20)
    assert {"trip_id", "event_type", "state", "event_time"} <= changes[0].keys()
    unsubscribe()
    seen = len(changes)
    time.sleep(0.3)
    assert len(changes) <= seen + 1


def test_reset_starts_a_fresh_world_with_a_new_session(runtime: SimulationRuntime) -> None:
    runtime.start()
    wait_for(lambda: runtime.status()["sim_time_ms"] > CONFIG.start_ms + 30 * 60_000)
    runtime.set_speed(1000)  # bounded: as fast as possible, the fresh world may pass 30 min before status() is read
    runtime.reset()
    status = runtime.status()
    assert status["session_id"] == "sim-9-r1"
    assert status["sim_time_ms"] < CONFIG.start_ms + 30 * 60_000


def test_checkpoint_restore_resumes_trips_in_flight(tmp_path: Path) -> None:
    sim = Simulation(CONFIG, ListSink())
    sim.populate()
    sim.run_until(sim.now + 40 * 60_000)
    in_flight = {t.trip_id: t.state for t in sim.trips.values()}
    assert any(s == TripState.IN_TRANSIT for s in in_flight.values())
    path = checkpoint.save(sim, tmp_path / "world.ckpt")

    sink = ListSink()
    restored = checkpoint.load(path, CONFIG, sink)
    # the only events of a restore: repositioning drivers stop where they are
    assert restored.now == sim.now and restored.events.counter == sim.events.counter + len(sink.events)
    assert all(r["reason"] == "restored" for _, r in sink.events)
    assert {t.trip_id: t.state for t in restored.trips.values()} == in_flight
    restored.run_until(restored.now + 150 * 60_000)  # longer than the longest trip (35 km in traffic)
    outcomes: dict[str, str] = {}
    for schema, record in sink.events:
        if schema == "trip_event":
            outcomes[record["trip_id"]] = record["event_type"]
    for trip_id, state in in_flight.items():
        assert outcomes.get(trip_id) in {s.value for s in TERMINAL}, (trip_id, state)
    riding = [t for t, s in in_flight.items() if s == TripState.IN_TRANSIT]
    assert all(outcomes[t] == "completed" for t in riding)
    ids = [r["event_id"] for _, r in sink.events]
    assert len(ids) == len(set(ids)) and int(ids[0].rsplit("-", 1)[1], 16) == sim.events.counter + 1


def test_restore_rejects_foreign_files(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        checkpoint.load(bogus, CONFIG, ListSink())


class _RecordingLockstep:
    """A lockstep surge source that records each step it is asked to complete and what another thread sees then."""

    step_ms = 60_000
    mode = "lockstep"

    def __init__(self, runtime_of: Callable[[], SimulationRuntime]) -> None:
        self.runtime_of = runtime_of
        self.steps: list[tuple[str, int, int]] = []  # session, boundary, simulated now seen from another thread
        self.begun: list[tuple[str, int]] = []

    def begin(self, session_id: str, start_ms: int) -> None:
        self.begun.append((session_id, start_ms))

    def complete_step(self, session_id: str, step_end_ms: int) -> float:
        with ThreadPoolExecutor(1) as other:  # the lock is free: another thread reads the status at once
            now = other.submit(lambda: self.runtime_of().status()["sim_time_ms"]).result(timeout=2)
        self.steps.append((session_id, step_end_ms, now))
        return 0.01

    def multiplier(self, zone_id: str) -> float:
        return 1.0

    def poll(self) -> int:
        return 0

    def snapshot(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        return None


def test_lockstep_steps_are_completed_at_each_boundary_outside_the_lock() -> None:
    holder: list[SimulationRuntime] = []
    surge = _RecordingLockstep(lambda: holder[0])
    runtime = SimulationRuntime(CONFIG.replace(drivers=20, riders=200), ListSink(), surge=surge, speed="max")
    holder.append(runtime)
    runtime.start()
    try:
        wait_for(lambda: len(surge.steps) >= 10)
    finally:
        runtime.stop()
    boundaries = [boundary for _, boundary, _ in surge.steps]
    first = (CONFIG.start_ms // 60_000 + 1) * 60_000
    assert surge.begun == [("sim-9", CONFIG.start_ms)]  # the session began (its first marker) before any step
    assert boundaries[:10] == [first + i * 60_000 for i in range(10)]  # every boundary, in order, none skipped
    assert all(session == "sim-9" and now == boundary for session, boundary, now in surge.steps)  # stopped exactly there
    assert runtime.surge_wait_s >= 0.01 * len(surge.steps) - 1e-9
