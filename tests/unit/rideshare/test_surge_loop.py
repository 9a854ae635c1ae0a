"""The lockstep surge loop without a broker: the runtime stops at every surge-step boundary and completes
it, and the in-process loop (the surge topology's engine) closes the loop deterministically, applying in
step k+1 exactly what the events of steps up to k produced."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from agents_sim.agents.state import Trip
from agents_sim.params import SimConfig
from agents_sim.pricing import fare_brl
from agents_sim.runtime import SimulationRuntime
from agents_sim.simulation import Simulation
from agents_sim.sinks import JsonlSink, ListSink, Sink
from agents_sim.surge import StaticSurge
from rideshare.surge_loop import InProcessSurge
from tests.sim_requests import ask_in_zone
from topologies.surge import SurgeConfig

STEP_MS = 60_000
# Monday 17:00 in São Paulo: the PM peak, when a small fleet surges.
START = "2026-03-02T17:00:00-03:00"
CONFIG = SimConfig(seed=31, drivers=60, riders=1500, start=START)


class RecordingSurge(StaticSurge):
    """A lockstep source that records each boundary and how many events were emitted before it."""

    step_ms = STEP_MS

    def __init__(self, sink: ListSink) -> None:
        super().__init__()
        self.mode = "lockstep"
        self._sink = sink
        self.calls: list[tuple[str, int, int]] = []

    def complete_step(self, session_id: str, step_end_ms: int) -> float:
        self.calls.append((session_id, step_end_ms, len(self._sink.events)))
        return 0.001


def _closed_loop_run(sink: Sink, minutes: int) -> tuple[SimulationRuntime, InProcessSurge]:
    loop = InProcessSurge(SurgeConfig())
    runtime = SimulationRuntime(CONFIG, loop.tap(sink), surge=loop, speed="max", end_ms=CONFIG.start_ms + minutes * 60_000)
    runtime.start()
    assert runtime.wait(120)
    runtime.stop()
    assert runtime.error is None
    return runtime, loop


def test_the_runtime_completes_every_step_boundary_once_with_all_earlier_events_emitted_before() -> None:
    sink = ListSink()
    surge = RecordingSurge(sink)
    runtime = SimulationRuntime(CONFIG, sink, surge=surge, speed="max", end_ms=CONFIG.start_ms + 30 * 60_000)
    runtime.start()
    assert runtime.wait(60)
    runtime.stop()
    boundaries = [b for _, b, _ in surge.calls]
    assert boundaries == [CONFIG.start_ms + k * STEP_MS for k in range(1, 30)]  # the end (minute 30) is not crossed
    assert {s for s, _, _ in surge.calls} == {"sim-31"}
    for _, boundary, emitted in surge.calls:
        before, after = sink.events[:emitted], sink.events[emitted:]
        assert all(r["event_time"] < boundary for _, r in before)
        assert all(r["event_time"] >= boundary for _, r in after)
    assert runtime.surge_wait_s == pytest.approx(0.001 * len(surge.calls))
    started = next(r for s, r in sink.events if s == "simulation_control" and r["action"] == "started")
    assert started["detail"] == "surge=lockstep step_ms=60000"


def _requests(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [r for s, r in events if s == "trip_event" and r["event_type"] == "requested"]


def test_in_process_loop_applies_in_each_step_the_updates_of_the_steps_before() -> None:
    sink = ListSink()
    _, loop = _closed_loop_run(sink, 90)
    updates = [r for s, r in sink.events if s == "surge_update"]
    assert loop.steps == 89 and loop.applied == len(updates) > 0
    history: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for update in updates:
        assert update["event_time"] == update["window_end"] and update["window_end"] % STEP_MS == 0
        history[update["zone_id"]].append((update["window_end"], update["surge_multiplier"]))
    requests = _requests(sink.events)
    surged = [r for r in requests if r["surge_multiplier"] > 1.0]
    assert surged, "a PM peak with 60 drivers for 1,500 riders surges"
    for request in requests:
        known = [m for end, m in history[request["pickup_zone_id"]] if end <= request["event_time"]]
        assert request["surge_multiplier"] == (min(known[-1], CONFIG.pricing.surge_cap) if known else 1.0), request


def test_the_same_seed_in_a_closed_loop_gives_byte_identical_events(tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        sink = JsonlSink(tmp_path / f"{name}.jsonl")
        _closed_loop_run(sink, 40)
        sink.close()
        digests.append(hashlib.sha256((tmp_path / f"{name}.jsonl").read_bytes()).hexdigest())
    assert (tmp_path / "a.jsonl").stat().st_size > 100_000
    assert digests[0] == digests[1]
    assert '"schema":"surge_update"' in (tmp_path / "a.jsonl").read_text(encoding="utf-8")


def _unsurged_fare(sim: Simulation, trip: Trip) -> float:
    route = sim.city.router.route(trip.pickup[0], trip.pickup[1], trip.dropoff[0], trip.dropoff[1], depart_ms=trip.requested_ms)
    return fare_brl(sim.config.pricing, route.distance_m / 1000, route.duration_s / 60, 1.0)


def test_a_demand_burst_in_one_zone_raises_its_fares_in_the_next_step_and_not_before() -> None:
    sink = ListSink()
    loop = InProcessSurge(SurgeConfig())
    config = CONFIG.replace(drivers=200, riders=2000, start="2026-03-02T11:00:00-03:00")
    sim = Simulation(config, loop.tap(sink), surge=loop)
    sim.populate()
    start = config.start_ms
    for minute in range(1, 21):  # 20 calm minutes through the loop
        sim.run_until(start + minute * STEP_MS)
        loop.complete_step(sim.session_id, start + minute * STEP_MS)
    ever_surged = {r["zone_id"] for s, r in sink.events if s == "surge_update"}
    zone = next(z.zone_id for z in sim.city.area_zones if z.zone_id not in ever_surged)
    idle = [r for r in sim.riders.values() if r.status == "idle"]

    sim.run_until(start + 20 * STEP_MS + 10_000)
    burst = ask_in_zone(sim, idle[:40], zone)  # forty requests in one quiet zone within the same second
    assert all(t is not None and t.surge_multiplier == 1.0 for t in burst), "the burst's own step is not surged"
    next_step = start + 21 * STEP_MS
    sim.run_until(next_step)
    assert loop.multiplier(zone) == 1.0, "nothing changes before the step closes"
    loop.complete_step(sim.session_id, next_step)
    raised = loop.multiplier(zone)
    assert raised > 1.0
    update = [r for s, r in sink.events if s == "surge_update" and r["zone_id"] == zone]
    assert [(u["window_end"], u["surge_multiplier"]) for u in update] == [(next_step, raised)]
    assert update[0]["demand_count"] >= 40

    sim.run_until(next_step + 1_000)
    refusals = sim.stats.surge_refusals
    after = ask_in_zone(sim, idle[40:60], zone)
    taken = [t for t in after if t is not None]
    assert taken and sim.stats.surge_refusals - refusals == len(after) - len(taken)
    for trip in taken:
        assert trip.surge_multiplier == raised
        assert trip.fare_estimate_brl == pytest.approx(round(_unsurged_fare(sim, trip) * raised, 2), abs=0.011)
