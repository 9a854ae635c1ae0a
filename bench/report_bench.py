"""KPI report throughput and memory: events/s of `compute_kpis` over a simulation's jsonl file.

Four numbers from one run over the same file (a simulated morning written by the real simulation):

- **stdlib json.loads per line** — the baseline: what a naive script pays just to read the file;
- **msgspec decode per line** — what `read_jsonl` pays to read it;
- **fold only** — `KpiAccumulator.add` over already-decoded events (the KPI computation's own cost);
- **full report** — `compute_kpis(read_jsonl(path))`: decode + fold + KPI formulas, what `sim report` runs.

Memory: peak Python allocations (tracemalloc) while folding the first half and the whole of the events,
excluding the events themselves — the fold keeps only bounded state, so twice the events should need
about the same memory, not twice as much.

    .venv/bin/python -m bench.report_bench [--drivers 150] [--riders 2250] [--hours 6] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.table import Table

from agents_sim.params import SimConfig
from agents_sim.report import KpiAccumulator, compute_kpis, read_jsonl
from agents_sim.simulation import Simulation
from agents_sim.sinks import JsonlSink

RESULTS = Path(__file__).resolve().parent / "results" / "report.json"
console = Console()


def _simulate(path: Path, *, drivers: int, riders: int, hours: float, seed: int) -> int:
    config = SimConfig(seed=seed, drivers=drivers, riders=riders)
    sink = JsonlSink(path)
    simulation = Simulation(config, sink)
    simulation.populate()
    simulation.run_until(config.start_ms + int(hours * 3_600_000))
    sink.close()
    return sink.count


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _each(decode: Callable[[bytes], Any], lines: list[bytes]) -> None:
    """Decode every line, keeping none (as a streaming reader does: no list of a million dicts to collect)."""
    for line in lines:
        decode(line)


def _fold(events: list[tuple[str, dict[str, Any]]]) -> KpiAccumulator:
    accumulator = KpiAccumulator()
    for schema, record in events:
        accumulator.add(schema, record)
    return accumulator


def _peak_fold_bytes(events: list[tuple[str, dict[str, Any]]]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    _fold(events)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=150)
    parser.add_argument("--riders", type=int, default=2_250)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="report-bench-") as folder:
        path = Path(folder) / "events.jsonl"
        with console.status(f"simulating {args.hours:g} h with {args.drivers} drivers / {args.riders} riders..."):
            count = _simulate(path, drivers=args.drivers, riders=args.riders, hours=args.hours, seed=args.seed)
        lines = path.read_bytes().splitlines()
        decoder = msgspec.json.Decoder()
        events = [(item["schema"], item["value"]) for item in map(decoder.decode, lines)]
        with console.status("timing..."):
            stdlib_s = _timed(lambda: _each(json.loads, lines))
            msgspec_s = _timed(lambda: _each(decoder.decode, lines))
            fold_s = _timed(lambda: _fold(events))
            full_s = _timed(lambda: compute_kpis(read_jsonl(path)))
            half_peak = _peak_fold_bytes(events[: len(events) // 2])
            full_peak = _peak_fold_bytes(events)
        megabytes = path.stat().st_size / 1e6

    rows = [
        ("stdlib json.loads per line (baseline)", stdlib_s),
        ("msgspec decode per line", msgspec_s),
        ("fold only (KpiAccumulator.add)", fold_s),
        ("full report: compute_kpis(read_jsonl(path))", full_s),
    ]
    table = Table(title=f"KPI report over {count:,} events ({megabytes:,.0f} MB jsonl)")
    for header in ("stage", "seconds", "events/s", "vs baseline"):
        table.add_column(header, justify="right" if header != "stage" else "left")
    for name, seconds in rows:
        table.add_row(name, f"{seconds:.2f}", f"{count / seconds:,.0f}", f"{stdlib_s / seconds:.2f}×")
    console.print(table)
    console.print(f"fold peak memory: {half_peak / 1e6:.1f} MB for {len(events) // 2:,} events, "
                  f"{full_peak / 1e6:.1f} MB for {len(events):,} (ratio {full_peak / max(half_peak, 1):.2f})")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "events": count, "jsonl_mb": round(megabytes, 1),
        "config": {"drivers": args.drivers, "riders": args.riders, "hours": args.hours, "seed": args.seed},
        "seconds": {name: round(seconds, 3) for name, seconds in rows},
        "events_per_s": {name: round(count / seconds) for name, seconds in rows},
        "full_report_vs_stdlib_parse": round(stdlib_s / full_s, 3),
        "fold_peak_bytes": {"half": half_peak, "all": full_peak, "ratio": round(full_peak / max(half_peak, 1), 3)},
    }, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
