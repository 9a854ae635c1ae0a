"""Calibration across seeds: does a simulated São Paulo weekday land in its KPI bands for any seed?

For each world size (400 drivers / 6,000 riders, the defaults, and 1,000 / 15,000) it runs one whole
weekday (the default start, Monday 06:00, 24 h) per seed and counts the KPI bands in band (16 rows,
surge included). Surge comes from the in-process closed loop of the surge topology's own engine
(rideshare/surge_loop.py: the simulation's events through the topology's signal functions into its
`SurgeEngine`, each step closed at its boundary: the multipliers a lockstep Kafka run computes).

- **fresh seeds**: `--seeds` of them drawn at random for this run (listed in the output and the JSON),
  so they appear nowhere in the code and nothing was tuned on them;
- **baseline**: the seeds the defaults were tuned on, run alongside; the ratio fresh / tuned of the
  median bands in band says whether the calibration holds off its tuning seeds.

Target: at least 14 of 16 bands for every fresh seed at both sizes. Runs in parallel processes (`--jobs`).

    .venv/bin/python -m bench.calibration [--seeds 10] [--jobs 2] [--only small|large] [--seed-list 1,2,3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents_sim.params import SimConfig
from agents_sim.report import KpiTee, report_of
from agents_sim.runtime import SimulationRuntime
from core.settings import load_settings
from rideshare.surge_loop import InProcessSurge, surge_config
from topologies.surge import SurgeConfig

RESULTS = Path(__file__).resolve().parent / "results" / "calibration.json"
WORLDS = {"small": (400, 6_000), "large": (1_000, 15_000)}
TUNING_SEEDS = (7, 2026)  # what the defaults were tuned on (the baseline)
TARGET = 14
DAY_MS = 86_400_000
console = Console()


def weekday(seed: int, drivers: int, riders: int, surge: SurgeConfig) -> dict[str, Any]:
    """One simulated weekday in a closed surge loop: the KPI report (rows and metrics) and the workload's size."""
    config = SimConfig(seed=seed, drivers=drivers, riders=riders)
    tee = KpiTee()
    loop = InProcessSurge(surge)
    runtime = SimulationRuntime(config, loop.tap(tee), surge=loop, speed="max", end_ms=config.start_ms + DAY_MS)
    started = time.perf_counter()
    runtime.start()
    runtime.wait()
    runtime.stop()
    if runtime.error is not None:
        raise RuntimeError(f"seed {seed} at {drivers}/{riders} failed: {runtime.error!r}")
    report = report_of(tee.accumulator)
    facts = report.measurements.facts
    return {
        "seed": seed, "drivers": drivers, "riders": riders, "wall_s": round(time.perf_counter() - started, 1),
        "in_band": report.in_band, "total": report.total,
        "rows": {row.band.key: {"status": row.status, "reason": row.reason} for row in report.rows},
        "metrics": report.measurements.metrics,
        "workload": {"events": facts["events"], "span_hours": facts["span_hours"], "completed": facts["completed"],
                     "surge_updates": facts["events_by_schema"].get("surge_update", 0), "surge_steps": loop.steps,
                     "surge_mode": facts["surge_mode"]},
    }


def _check_workload(run: dict[str, Any]) -> None:
    """A figure over an empty or partial workload is a defect: fail loudly."""
    work = run["workload"]
    label = f"seed {run['seed']} at {run['drivers']}/{run['riders']}"
    if work["span_hours"] < 23.9 or work["surge_steps"] < 1439:
        raise SystemExit(f"{label}: the run covered {work['span_hours']} h and {work['surge_steps']} surge steps, not a whole day")
    if work["completed"] < 1000 or work["surge_updates"] == 0 or work["surge_mode"] != "in-process":
        raise SystemExit(f"{label}: {work['completed']} completed trips, {work['surge_updates']} surge updates, "
                         f"mode {work['surge_mode']}: the closed loop did not run")


def _spread(values: list[int]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many fresh random seeds per world size")
    parser.add_argument("--seed-list", help="comma-separated seeds instead of random ones (to reproduce a run)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel processes")
    parser.add_argument("--only", choices=tuple(WORLDS), help="one world size only")
    parser.add_argument("--no-baseline", action="store_true", help="skip the tuning seeds")
    args = parser.parse_args()

    fresh = ([int(s) for s in args.seed_list.split(",")] if args.seed_list
             else sorted({secrets.randbelow(2**31 - 1) + 1 for _ in range(args.seeds * 2)} - set(TUNING_SEEDS))[:args.seeds])
    worlds = {args.only: WORLDS[args.only]} if args.only else WORLDS
    surge = surge_config(load_settings())
    kinds = {"fresh": fresh} if args.no_baseline else {"fresh": fresh, "tuned": list(TUNING_SEEDS)}
    # one world after the other (small first), so a long run has a whole world to show early
    jobs = [(world, kind, seed) for world in worlds for kind, seeds in kinds.items() for seed in seeds]
    console.print(f"fresh seeds: {', '.join(map(str, fresh))}; tuned-on seeds (baseline): {', '.join(map(str, TUNING_SEEDS))}")
    console.print("surge: in-process closed loop of the surge topology's engine (topologies.surge.SurgeEngine), "
                  f"{surge.window_ms // 1000} s windows every {surge.step_ms // 1000} s")
    runs: list[dict[str, Any]] = []
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool, Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("simulated weekdays", total=len(jobs))
        futures = {pool.submit(weekday, seed, *worlds[world], surge): (world, kind) for world, kind, seed in jobs}
        for future in as_completed(futures):
            world, kind = futures[future]
            run = {**future.result(), "world": world, "kind": kind}
            _check_workload(run)
            runs.append(run)
            _write(runs, worlds, fresh, args.jobs, time.perf_counter() - started, complete=len(runs) == len(jobs))
            progress.advance(task)
            progress.update(task, description=f"simulated weekdays (last: seed {run['seed']} {world}: {run['in_band']}/16)")
    wall = time.perf_counter() - started
    _print(json.loads(RESULTS.read_text(encoding="utf-8")))
    console.print(f"wrote {RESULTS} ({wall / 60:.1f} min wall, {args.jobs} processes, load {os.getloadavg()[0]:.1f})")


def _write(runs: list[dict[str, Any]], worlds: dict[str, tuple[int, int]], fresh: list[int], jobs: int, wall: float,
           *, complete: bool) -> None:
    """The JSON of the runs so far, rewritten after each one: a long benchmark stopped early keeps what it measured."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_average_1m": os.getloadavg()[0],
        "complete": complete, "wall_s": round(wall, 1), "jobs": jobs, "fresh_seeds": fresh, "tuning_seeds": list(TUNING_SEEDS),
        "surge": "in-process closed loop of topologies.surge.SurgeEngine", "target_in_band": TARGET,
        "summary": _summarise(runs, worlds), "runs": sorted(runs, key=lambda r: (r["world"], r["kind"], r["seed"])),
    }, indent=2, default=str) + "\n")


def _summarise(runs: list[dict[str, Any]], worlds: dict[str, tuple[int, int]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for world in worlds:
        fresh = [r for r in runs if r["world"] == world and r["kind"] == "fresh"]
        tuned = [r for r in runs if r["world"] == world and r["kind"] == "tuned"]
        in_band = [r["in_band"] for r in fresh]
        if not in_band:
            continue  # not measured yet
        misses = Counter(key for r in fresh for key, row in r["rows"].items() if row["status"] != "pass")
        entry = {"drivers": worlds[world][0], "riders": worlds[world][1], "fresh": _spread(in_band),
                 "seeds_meeting_target": sum(n >= TARGET for n in in_band), "seeds": len(fresh),
                 "misses_by_kpi": dict(misses.most_common())}
        if tuned:
            entry["tuned"] = _spread([r["in_band"] for r in tuned])
            entry["fresh_over_tuned_median"] = round(entry["fresh"]["median"] / entry["tuned"]["median"], 3)
        summary[world] = entry
    return summary


def tables(results: dict[str, Any]) -> list[Table]:
    """The benchmark's tables from its JSON: bands in band across seeds per world size, then per seed."""
    complete = "" if results.get("complete", True) else " (stopped early: the worlds and seeds measured so far)"
    table = Table(title=f"KPI bands in band (of 16) per simulated weekday · surge from the in-process closed loop{complete}")
    for header in ("world (drivers / riders)", "seeds", "min", "median", "max", f"≥ {TARGET}", "baseline: tuned seeds (median)",
                   "fresh / tuned"):
        table.add_column(header, justify="left" if header.startswith(("world", "seeds")) else "right")
    for entry in results["summary"].values():
        fresh = entry["fresh"]
        table.add_row(f"{entry['drivers']:,} / {entry['riders']:,}", f"{entry['seeds']} fresh", str(fresh["min"]),
                      f"{fresh['median']:g}", str(fresh["max"]), f"{entry['seeds_meeting_target']} of {entry['seeds']}",
                      f"{entry['tuned']['median']:g}" if "tuned" in entry else "-",
                      f"{entry['fresh_over_tuned_median']:.2f}" if "tuned" in entry else "-")
    detail = Table(title="Per seed: bands in band and the rows that miss")
    for header in ("world", "seed", "kind", "in band", "wall s", "misses"):
        detail.add_column(header)
    for run in results["runs"]:
        misses = "; ".join(f"{key}: {row['reason']}" for key, row in run["rows"].items() if row["status"] != "pass")
        detail.add_row(run["world"], str(run["seed"]), run["kind"], f"{run['in_band']}/16", f"{run['wall_s']:g}", misses or "-")
    return [table, detail]


def _print(results: dict[str, Any]) -> None:
    for table in tables(results):
        console.print(table)
    summary = results["summary"]
    met = all(entry["seeds_meeting_target"] == entry["seeds"] for entry in summary.values())
    console.print(f"target: ≥ {TARGET} of 16 for every fresh seed at every size: {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())
