"""Lakehouse build: time and peak memory of `lakehouse build` (dbt silver + gold + every dbt test +
the Great Expectations checks) over N bronze events, full and incremental (one more simulated hour).

Bronze is generated the way the issue asks: the real simulation's JSONL file sink, loaded through
the bronze writer (`write_jsonl_to_bronze`). The first N events go to the base file; the events of
the simulated hour after them go to the increment file. Measured, each phase in a fresh process
(peak RSS is that process's own high-water mark):

- **baseline scan**: read every bronze Delta table through the same Arrow dataset path dbt's delta
  plugin uses and count rows in DuckDB: the I/O floor of any build over this bronze;
- **full build**: `build(full_refresh=True)` over the base events;
- **incremental +1 h**: load the increment, then `build()` (silver reads only the new rows).

Target (issue 5): incremental build of one more hour at 10M events in under 30 s.

    .venv/bin/python -m bench.lakehouse                       # 200k events: a few minutes
    .venv/bin/python -m bench.lakehouse --events 1000000      # ~10 min on 2 cores
    .venv/bin/python -m bench.lakehouse --events 10000000     # ~1.5 h: generating + loading dominate

No services needed (no Kafka: the file sink feeds the bronze writer directly).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")

from agents_sim.params import SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import JsonlSink
from core.settings import Settings, load_settings

RESULTS = Path(__file__).resolve().parent / "results" / "lakehouse.json"
HOUR_MS = 3_600_000
TARGET_INCREMENTAL_S = 30.0
console = Console()


class SplitSink:
    """The first `base_events` to one JSONL file, the next simulated hour to another, then done."""

    def __init__(self, base: Path, increment: Path, base_events: int) -> None:
        self.base, self.increment = JsonlSink(base), JsonlSink(increment)
        self.base_events = base_events
        self.count = 0
        self.increment_count = 0
        self.increment_until_ms: int | None = None
        self.done = False

    def emit(self, schema_name: str, record: dict[str, Any]) -> None:
        if self.done:
            return
        if self.count < self.base_events:
            self.base.emit(schema_name, record)
            self.count += 1
            if self.count == self.base_events:
                self.increment_until_ms = int(record["event_time"]) + HOUR_MS
            return
        assert self.increment_until_ms is not None
        if int(record["event_time"]) >= self.increment_until_ms:
            self.done = True
            return
        self.increment.emit(schema_name, record)
        self.increment_count += 1

    def flush(self) -> None:
        self.base.flush()
        self.increment.flush()

    def close(self) -> None:
        self.base.close()
        self.increment.close()


def generate(workdir: Path, events: int, drivers: int, riders: int, seed: int) -> tuple[Path, Path, int, float]:
    base, increment = workdir / "base.jsonl", workdir / "increment.jsonl"
    sink = SplitSink(base, increment, events)
    config = SimConfig(seed=seed, drivers=drivers, riders=riders)
    runtime = SimulationRuntime(config, sink, speed="max", end_ms=config.start_ms + 90 * 24 * HOUR_MS)
    started = time.perf_counter()
    runtime.start()
    try:
        with console.status("simulating") as status:
            while not sink.done and not runtime.wait(0.5):
                status.update(f"simulating: {sink.count:,} base + {sink.increment_count:,} increment events")
    finally:
        runtime.stop()
        sink.close()
    if runtime.error is not None:
        raise RuntimeError(f"the simulation failed: {runtime.error!r}")
    return base, increment, sink.increment_count, time.perf_counter() - started


def _phase(name: str, settings_kwargs: dict[str, Any], jsonl: str | None, queue: Any) -> None:
    """One measured phase in its own process; puts {seconds, peak_rss_mb, ...} on the queue."""
    settings = load_settings(**settings_kwargs)
    if jsonl is not None:
        from lakehouse.bronze.loader import write_jsonl_to_bronze

        write_jsonl_to_bronze(settings, jsonl)
        # Loading is not part of the build: the high-water mark below is reset only by a new process,
        # so the load runs in its own phase ("load") and the build in the next one.
        queue.put({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
        return
    import deltalake  # noqa: F401
    import duckdb  # noqa: F401  (the scan's own imports stay out of its clock)

    from lakehouse.build import ensure_bronze_tables

    ensure_bronze_tables(settings)  # the build does the same for topics the run never produced to
    # A build's clock includes importing dbt and Great Expectations, as `rideshare lakehouse build` pays it.
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    if name == "scan":
        extra["rows"] = _scan(settings)
    else:
        from lakehouse.build import build
        from lakehouse.exceptions import QualityCheckFailed

        try:
            result = build(settings, full_refresh=(name == "full"))
            extra["quality_failures"] = []
        except QualityCheckFailed as failure:
            # The build ran to the end; what the data quality checks found is a result to report, not a crash.
            extra["quality_failures"] = [line for line in failure.report.splitlines() if line.startswith("FAILED")]
            extra["silver_rows"] = extra["gold_rows"] = None
        else:
            extra["silver_rows"] = sum(result.counts["silver"].values())
            extra["gold_rows"] = sum(result.counts["gold"].values())
    queue.put({"seconds": time.perf_counter() - started, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               **extra})


def _scan(settings: Settings) -> int:
    import duckdb
    from deltalake import DeltaTable

    from lakehouse.bronze.specs import EVENT_TABLES, bronze_table_uri

    rows = 0
    with duckdb.connect() as connection:
        for table in EVENT_TABLES:
            dataset = DeltaTable(bronze_table_uri(settings, table.topic_key)).to_pyarrow_dataset()  # noqa: F841 (read by DuckDB)
            rows += connection.execute("select count(*) from (select * from dataset)").fetchone()[0]
    return rows


def run_phase(name: str, settings: Settings, jsonl: Path | None = None) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    kwargs = {"local_dir": str(settings.local_dir), "lake_uri": settings.lake_uri}
    process = context.Process(target=_phase, args=(name, kwargs, str(jsonl) if jsonl else None, queue))
    started = time.perf_counter()
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"phase {name} failed with exit code {process.exitcode}")
    result = queue.get(timeout=10)
    result.setdefault("seconds", time.perf_counter() - started)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="bronze events of the base build (e.g. 1000000, 10000000)")
    parser.add_argument("--drivers", type=int, default=400)
    parser.add_argument("--riders", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (lake, warehouse, JSONL files)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-lakehouse-"))
    settings = load_settings(local_dir=workdir / "local", lake_uri=str(workdir / "lake"))
    try:
        console.print(f"[bold]lakehouse bench[/]: {args.events:,} base events + 1 simulated hour, work folder {workdir}")
        base, increment, increment_events, sim_s = generate(workdir, args.events, args.drivers, args.riders, args.seed)
        console.print(f"  simulated {args.events + increment_events:,} events in {sim_s:.1f} s")
        load_base = run_phase("load", settings, base)
        scan = run_phase("scan", settings)
        full = run_phase("full", settings)
        load_increment = run_phase("load", settings, increment)
        incremental = run_phase("incremental", settings)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    results = {
        "events": args.events, "increment_events": increment_events, "drivers": args.drivers, "riders": args.riders,
        "simulate_s": sim_s, "load_base_s": load_base["seconds"], "load_increment_s": load_increment["seconds"],
        "baseline_scan_s": scan["seconds"], "baseline_scan_peak_rss_mb": scan["peak_rss_mb"],
        "full_build_s": full["seconds"], "full_build_peak_rss_mb": full["peak_rss_mb"],
        "incremental_build_s": incremental["seconds"], "incremental_build_peak_rss_mb": incremental["peak_rss_mb"],
        "full_vs_scan_ratio": full["seconds"] / scan["seconds"],
        "incremental_vs_full_ratio": incremental["seconds"] / full["seconds"],
        "target_incremental_s": TARGET_INCREMENTAL_S, "cpu_count": os.cpu_count(),
        "quality_failures": sorted(set(full["quality_failures"]) | set(incremental["quality_failures"])),
    }
    table = Table(title=f"lakehouse build over {args.events:,} bronze events (+{increment_events:,} in the next hour)")
    for column in ("phase", "seconds", "peak RSS MB", "ratio"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    table.add_row("baseline: scan all bronze into DuckDB", f"{scan['seconds']:.1f}", f"{scan['peak_rss_mb']:.0f}", "1.00x")
    table.add_row("full build (dbt + tests + GE)", f"{full['seconds']:.1f}", f"{full['peak_rss_mb']:.0f}",
                  f"{results['full_vs_scan_ratio']:.2f}x scan")
    table.add_row("incremental +1 h", f"{incremental['seconds']:.1f}", f"{incremental['peak_rss_mb']:.0f}",
                  f"{results['incremental_vs_full_ratio']:.2f}x full")
    table.add_row("(bronze load of the base, not in the build)", f"{load_base['seconds']:.1f}", f"{load_base['peak_rss_mb']:.0f}", "")
    console.print(table)
    for line in results["quality_failures"]:
        console.print(f"[yellow]data quality finding:[/] {line}")
    verdict = "meets" if incremental["seconds"] < TARGET_INCREMENTAL_S else "misses"
    console.print(f"incremental build {verdict} the {TARGET_INCREMENTAL_S:.0f} s target at {args.events:,} events")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
