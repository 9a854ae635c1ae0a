"""The golden backtest: a short seeded closed-loop run whose KPI summary is stored in the repository.

Same seed and code ⇒ the same events byte for byte, so every KPI value of the golden scenario is exact.
A change to the simulation (or the surge topology's engine) that moves any of them shows up as a list
of moved KPIs, golden value against new value, and a changed event digest; a refactor that should move
nothing proves it by leaving the summary identical. `rideshare sim backtest` prints the comparison
(`--update` stores the new summary after an intended change); tests/unit/rideshare/test_backtest.py
fails on any unintended move.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents_sim.params import SimConfig
from agents_sim.report import KpiTee, report_of
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import JsonlSink
from core.settings import PROJECT_ROOT
from rideshare.surge_loop import InProcessSurge

__all__ = ["GOLDEN_PATH", "GOLDEN_SCENARIO", "Moved", "Scenario", "compare", "load_golden", "run_scenario", "write_golden"]

GOLDEN_PATH = PROJECT_ROOT / "tests" / "golden" / "backtest.json"
_PRECISION = 9  # digits kept of each KPI value: exact reproduction, stable JSON


@dataclass(frozen=True)
class Scenario:
    """A Monday morning of a small world: the AM peak, surge, every event type."""

    seed: int = 20_260_302
    drivers: int = 120
    riders: int = 1_800
    start: str = "2026-03-02T06:00:00-03:00"
    hours: float = 5.0

    def config(self) -> SimConfig:
        return SimConfig(seed=self.seed, drivers=self.drivers, riders=self.riders, start=self.start)


GOLDEN_SCENARIO = Scenario()


@dataclass(frozen=True)
class Moved:
    """One thing of the summary that differs from the golden one."""

    name: str
    golden: Any
    now: Any


def run_scenario(scenario: Scenario = GOLDEN_SCENARIO, config: SimConfig | None = None) -> dict[str, Any]:
    """Run the scenario in a closed surge loop (the surge topology's engine in process) and summarise it:
    the event digest and counts, every KPI value and every band's status. `config` overrides the
    scenario's (to see what a parameter change moves)."""
    config = config or scenario.config()
    with tempfile.TemporaryDirectory(prefix="backtest-") as folder:
        events = Path(folder) / "events.jsonl"
        sink = JsonlSink(events)
        tee = KpiTee(sink)
        loop = InProcessSurge()
        runtime = SimulationRuntime(config, loop.tap(tee), surge=loop, speed="max",
                                    end_ms=config.start_ms + int(scenario.hours * 3_600_000))
        runtime.start()
        runtime.wait()
        runtime.stop()
        sink.close()
        if runtime.error is not None:
            raise RuntimeError(f"the backtest scenario failed: {runtime.error!r}")
        digest = hashlib.sha256(events.read_bytes()).hexdigest()
    report = report_of(tee.accumulator)
    facts = report.measurements.facts
    return {
        "scenario": asdict(scenario),
        "events": facts["events"], "events_by_schema": facts["events_by_schema"], "events_sha256": digest,
        "in_band": report.in_band,
        "rows": {row.band.key: row.status for row in report.rows},
        "kpis": {metric: None if value is None else round(value, _PRECISION)
                 for metric, value in sorted(report.measurements.metrics.items())},
    }


def compare(golden: dict[str, Any], now: dict[str, Any]) -> list[Moved]:
    """What moved between two summaries: KPI values, band statuses, event counts and the event digest."""
    moved = [Moved(f"kpi {metric}", golden["kpis"].get(metric), value) for metric, value in now["kpis"].items()
             if golden["kpis"].get(metric) != value]
    moved += [Moved(f"band {key}", golden["rows"].get(key), status) for key, status in now["rows"].items()
              if golden["rows"].get(key) != status]
    schemas = sorted(set(golden["events_by_schema"]) | set(now["events_by_schema"]))
    moved += [Moved(f"events {schema}", golden["events_by_schema"].get(schema), now["events_by_schema"].get(schema))
              for schema in schemas if golden["events_by_schema"].get(schema) != now["events_by_schema"].get(schema)]
    if golden["events_sha256"] != now["events_sha256"]:
        moved.append(Moved("event bytes (sha256)", golden["events_sha256"][:16], now["events_sha256"][:16]))
    if golden["scenario"] != now["scenario"]:
        moved.append(Moved("scenario", golden["scenario"], now["scenario"]))
    return moved


def load_golden(path: Path = GOLDEN_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write_golden(summary: dict[str, Any], path: Path = GOLDEN_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
