"""Bronze for lakehouse tests, made the way a user makes it: the real simulation's JSONL sink, loaded
through the bronze writer (`write_jsonl_to_bronze`). A run is split by event time into a base file and
the hour after it, so tests can load the increment separately; a few lines can be re-sent (duplicated,
as a producer retry would) and hand-written profile changes appended."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents_sim.params import SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import JsonlSink, Sink

HOUR_MS = 3_600_000


@dataclass
class SimulatedRun:
    """A finished simulation run: its JSONL lines split by event time, and the run's own summary."""

    config: SimConfig
    base: list[str]
    increment: list[str]
    overview: dict[str, Any]
    revenue_brl: float
    by_schema: dict[str, int] = field(default_factory=dict)

    @property
    def base_end_ms(self) -> int:
        return max(json.loads(line)["value"]["event_time"] for line in self.base) + 1


def run_to_end(config: SimConfig, sink: Sink, duration_ms: int) -> SimulationRuntime:
    """Run the simulation as fast as it goes for `duration_ms` of simulated time into `sink`, then close the sink."""
    runtime = SimulationRuntime(config, sink, speed="max", end_ms=config.start_ms + duration_ms)
    runtime.start()
    try:
        while not runtime.wait(0.5):
            pass
    finally:
        runtime.stop()
        sink.close()
    assert runtime.error is None, f"the simulation failed: {runtime.error!r}"
    return runtime


def simulate(workdir: Path, *, seed: int, drivers: int, riders: int, hours: int, increment_hours: int = 1) -> SimulatedRun:
    """Run the simulation for `hours`; the last `increment_hours` (by event time) form the increment."""
    config = SimConfig(seed=seed, drivers=drivers, riders=riders)
    path = workdir / f"sim-{seed}.jsonl"
    runtime = run_to_end(config, JsonlSink(path), hours * HOUR_MS)
    split_ms = config.start_ms + (hours - increment_hours) * HOUR_MS
    base, increment = [], []
    for line in path.read_text().splitlines():
        (base if json.loads(line)["value"]["event_time"] < split_ms else increment).append(line)
    return SimulatedRun(config, base, increment, dict(runtime.sim.stats.overview()), round(runtime.sim.stats.fares.total_brl, 2),
                        dict(runtime.sim.events.by_schema))


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def resent(lines: list[str], schemas: tuple[str, ...], every: int) -> list[str]:
    """Every `every`-th line of `schemas`, sent again unchanged (same event id): what a producer retry does."""
    return [line for line in lines if json.loads(line)["schema"] in schemas][::every]


def profile_change(lines: list[str], driver_id: str, at_ms: int, **attributes: Any) -> str:
    """A driver_profile 'updated' event for `driver_id` at `at_ms` with `attributes` changed (none: a no-op update)."""
    created = next(json.loads(line) for line in lines
                   if json.loads(line)["schema"] == "driver_profile" and json.loads(line)["value"]["driver_id"] == driver_id)
    value = {**created["value"], **attributes, "event_id": f"test-update-{driver_id}-{at_ms}", "event_time": at_ms,
             "change_type": "updated", "changed_fields": sorted(attributes)}
    return json.dumps({"schema": "driver_profile", "key": driver_id, "value": value})
