"""Lakehouse build: time and peak memory of `lakehouse build` (dbt silver + gold as Delta tables +
every dbt test + the Great Expectations checks) over N bronze events, full and incremental (one more
simulated hour), on DuckDB and on Spark, next to a plain DuckDB scan of the same bronze.

Bronze is made the way a user makes it: the real simulation's JSONL file sink, loaded through the
bronze writer (`write_jsonl_to_bronze`). The first N events go to the base file; the events of the
simulated hour after them go to the increment file. Each engine builds its own lake over the very
same bronze (copied). Measured, each phase in a fresh process (peak RSS is that process's own
high-water mark):

- **baseline scan**: DuckDB reads every column of every bronze Delta table once (the same Parquet
  views a build reads through): the I/O floor of any build over this bronze;
- **full build**: `build(full_refresh=True)` over the base events, per engine;
- **incremental +1 h**: the increment file is loaded, then `build()` (silver merges only the records
  past its offset watermark; SCD2 dimensions merge only changed versions), per engine.

Peak RSS of a Spark phase is the Python process's plus the Spark JVM's (its own VmHWM).

The workload is checked, not assumed: the increment must land whole in bronze (row counts before and
after equal the file's events) and in silver (the silver event tables grow by exactly as many events),
and the engines' gold tables must have equal row counts and key checksums; otherwise the run fails.

Targets: incremental +1 h at 10M events <= 30 s on DuckDB; Spark within 3x of DuckDB.

    .venv/bin/python -m bench.lakehouse                          # 200k events, both engines
    .venv/bin/python -m bench.lakehouse --events 1000000
    .venv/bin/python -m bench.lakehouse --events 10000000 --engines duckdb,spark

No services needed (no Kafka: the file sink feeds the bronze writer directly). Results are merged into
bench/results/lakehouse.json by event count, so the 1M and 10M runs sit side by side.
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
TARGET_SPARK_RATIO = 3.0
SILVER_EVENT_TABLES = ("trip_events", "gps_pings", "payments", "ratings", "driver_status_changes", "driver_profiles",
                       "rider_profiles", "simulation_control_events", "surge_updates")
console = Console()


class WorkloadError(RuntimeError):
    """The measured work did not happen as it should: a figure over it would be meaningless."""


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
    if sink.count < events or sink.increment_count == 0:
        raise WorkloadError(f"the simulation produced {sink.count:,} base and {sink.increment_count:,} increment events")
    return base, increment, sink.increment_count, time.perf_counter() - started


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _jvm_peak_rss_mb() -> float:
    """The Spark JVM's own high-water mark (a child process: not in this process's rusage until it is reaped)."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        return 0.0
    pid = session.sparkContext._gateway.proc.pid  # the launcher execs the JVM: same process
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _scan(settings: Settings) -> int:
    """Every column of every bronze table read once through the lake's DuckDB views."""
    from lakehouse.lake import open_lake

    rows = 0
    with open_lake(settings, layers=("bronze",), unqualified=False) as connection:
        tables = [name for (name,) in connection.execute("select view_name from duckdb_views() where schema_name = 'bronze'"
                                                         ).fetchall()]
        for table in tables:
            count, _ = connection.execute(f"select count(*), sum(hash(t)) from bronze.{table} as t").fetchall()[0]
            rows += int(count)
    return rows


def _phase(name: str, engine: str, settings_kwargs: dict[str, Any], jsonl: str | None, queue: Any) -> None:
    """One measured phase in its own process; puts {seconds, peak_rss_mb, ...} on the queue."""
    settings = load_settings(**settings_kwargs)
    if name == "load":
        from lakehouse.bronze.loader import write_jsonl_to_bronze

        started = time.perf_counter()
        summary = write_jsonl_to_bronze(settings, jsonl or "")
        queue.put({"seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb(), "written": summary.total_written,
                   "lines": summary.lines})
        return
    from lakehouse.build import ensure_bronze_tables

    ensure_bronze_tables(settings)  # the build does the same for topics the run never produced to
    # A build's clock includes importing dbt and Great Expectations (and starting Spark), as
    # `rideshare lakehouse build` pays it.
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    if name == "scan":
        extra["rows"] = _scan(settings)
    else:
        from lakehouse.build import build
        from lakehouse.dbt_project import Engine
        from lakehouse.exceptions import QualityCheckFailed

        try:
            result = build(settings, engine=Engine(engine), full_refresh=(name == "full"))
            extra["quality_failures"] = []
            counts = result.counts
        except QualityCheckFailed as failure:
            # The build ran to the end; what the data quality checks found is a result to report, not a crash.
            from lakehouse.build import layer_counts

            extra["quality_failures"] = [line for line in failure.report.splitlines() if line.startswith("FAILED")]
            counts = layer_counts(settings)
        extra["seconds"] = time.perf_counter() - started
        extra["counts"] = counts
        extra["dbt_nodes"] = len(result.nodes) if not extra["quality_failures"] else None
        if engine == "spark":
            from lakehouse.spark_session import stop_session

            extra["python_peak_rss_mb"], extra["jvm_peak_rss_mb"] = _peak_rss_mb(), _jvm_peak_rss_mb()
            stop_session()
    extra.setdefault("seconds", time.perf_counter() - started)
    # For Spark, the driver's Python process and its JVM together.
    queue.put({"peak_rss_mb": _peak_rss_mb() + extra.get("jvm_peak_rss_mb", 0.0), **extra})


def run_phase(name: str, settings: Settings, *, engine: str = "duckdb", jsonl: Path | None = None) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    kwargs = {"local_dir": str(settings.local_dir), "lake_uri": settings.lake_uri}
    process = context.Process(target=_phase, args=(name, engine, kwargs, str(jsonl) if jsonl else None, queue))
    process.start()
    result = queue.get()  # before join: a large result must be drained for the child to exit
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"phase {name} ({engine}) failed with exit code {process.exitcode}")
    return result


def _bronze_rows(counts: dict[str, dict[str, int]]) -> int:
    return sum(counts["bronze"].values())


def _silver_events(counts: dict[str, dict[str, int]]) -> int:
    return sum(counts["silver"].get(name, 0) for name in SILVER_EVENT_TABLES)


def check_increment(engine: str, full: dict[str, Any], incremental: dict[str, Any], increment_events: int) -> None:
    """The increment really landed: in bronze and in silver, exactly its events."""
    bronze_growth = _bronze_rows(incremental["counts"]) - _bronze_rows(full["counts"])
    silver_growth = _silver_events(incremental["counts"]) - _silver_events(full["counts"])
    if bronze_growth != increment_events or silver_growth != increment_events:
        raise WorkloadError(f"{engine}: the +1 h increment has {increment_events:,} events, but bronze grew by {bronze_growth:,} "
                            f"and silver by {silver_growth:,} rows")


def _copy_bronze(source: Settings, target: Settings) -> None:
    shutil.rmtree(Path(target.lake_uri) / "bronze", ignore_errors=True)
    shutil.copytree(Path(source.lake_uri) / "bronze", Path(target.lake_uri) / "bronze")
    shutil.rmtree(Path(target.lake_uri) / "ops", ignore_errors=True)
    if (Path(source.lake_uri) / "ops").exists():
        shutil.copytree(Path(source.lake_uri) / "ops", Path(target.lake_uri) / "ops")


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """A phase's figures for the JSON: row totals per layer instead of every table's count."""
    counts = result["counts"]
    return {**{key: value for key, value in result.items() if key != "counts"},
            "bronze_rows": _bronze_rows(counts), "silver_rows": sum(counts["silver"].values()), "gold_rows": sum(counts["gold"].values())}


def _run_table(results: dict[str, Any]) -> Table:
    table = Table(title=f"lakehouse build over {results['events']:,} bronze events (+{results['increment_events']:,} in the next hour)")
    for column in ("engine", "phase", "seconds", "peak RSS MB", "ratio"):
        table.add_column(column, justify="left" if column in ("engine", "phase") else "right")
    scan = results["baseline_scan"]
    table.add_row("duckdb", "baseline: scan all bronze (every column)", f"{scan['seconds']:.1f}", f"{scan['peak_rss_mb']:.0f}", "1.00x")
    for engine, measured in results["engines"].items():
        full, incremental = measured["full"], measured["incremental"]
        table.add_row(engine, "full build (dbt + tests + GE)", f"{full['seconds']:.1f}", f"{full['peak_rss_mb']:.0f}",
                      f"{full['seconds'] / scan['seconds']:.2f}x scan")
        table.add_row(engine, "incremental +1 h", f"{incremental['seconds']:.1f}", f"{incremental['peak_rss_mb']:.0f}",
                      f"{incremental['seconds'] / full['seconds']:.2f}x full")
    if "spark" in results["engines"] and "duckdb" in results["engines"]:
        for phase in ("full", "incremental"):
            ratio = results["engines"]["spark"][phase]["seconds"] / results["engines"]["duckdb"][phase]["seconds"]
            table.add_row("spark", f"{phase}: Spark / DuckDB", "", "", f"{ratio:.2f}x")
    table.add_row("", "(bronze load of the base, not in the build)", f"{results['load_base_s']:.1f}", "", "")
    return table


def tables(results: dict[str, Any]) -> list[Table]:
    """The benchmark's tables from its JSON, one per bronze size (rendered into docs/benchmarks.md)."""
    return [_run_table(run) for run in results["runs"]]


def _save(results: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(RESULTS.read_text()).get("runs", []) if RESULTS.exists() else []
    runs = [run for run in runs if run.get("events") != results["events"]] + [results]
    RESULTS.write_text(json.dumps({"runs": sorted(runs, key=lambda run: run["events"])}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="bronze events of the base build (e.g. 1000000, 10000000)")
    parser.add_argument("--engines", default="duckdb,spark", help="comma-separated: duckdb, spark")
    parser.add_argument("--drivers", type=int, default=400, help="drivers in the simulated world")
    parser.add_argument("--riders", type=int, default=6000, help="riders in the simulated world")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (lakes, JSONL files)")
    args = parser.parse_args()
    engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    if not engines or set(engines) - {"duckdb", "spark"}:
        parser.error(f"--engines must name duckdb and/or spark, not {args.engines!r}")

    workdir = Path(tempfile.mkdtemp(prefix="bench-lakehouse-"))
    lakes = {engine: load_settings(local_dir=workdir / engine / "local", lake_uri=str(workdir / engine / "lake")) for engine in engines}
    first = lakes[engines[0]]
    measured: dict[str, dict[str, Any]] = {}
    try:
        console.print(f"[bold]lakehouse bench[/]: {args.events:,} base events + 1 simulated hour on {', '.join(engines)}, "
                      f"work folder {workdir}, {os.cpu_count()} cores")
        base, increment, increment_events, sim_s = generate(workdir, args.events, args.drivers, args.riders, args.seed)
        console.print(f"  simulated {args.events + increment_events:,} events in {sim_s:.1f} s")
        load_base = run_phase("load", first, jsonl=base)
        if load_base["written"] != args.events:
            raise WorkloadError(f"bronze took {load_base['written']:,} of the {args.events:,} base events")
        console.print(f"  loaded the base into bronze in {load_base['seconds']:.1f} s")
        scan = run_phase("scan", first)
        if scan["rows"] != args.events:
            raise WorkloadError(f"the baseline scan read {scan['rows']:,} bronze rows, not {args.events:,}")
        for engine in engines:
            if lakes[engine] is not first:
                _copy_bronze(first, lakes[engine])
            measured[engine] = {"full": run_phase("full", lakes[engine], engine=engine)}
            console.print(f"  {engine}: full build {measured[engine]['full']['seconds']:.1f} s")
        load_increment = run_phase("load", first, jsonl=increment)
        if load_increment["written"] != increment_events:
            raise WorkloadError(f"bronze took {load_increment['written']:,} of the {increment_events:,} increment events")
        for engine in engines:
            if lakes[engine] is not first:
                _copy_bronze(first, lakes[engine])
            measured[engine]["incremental"] = run_phase("incremental", lakes[engine], engine=engine)
            check_increment(engine, measured[engine]["full"], measured[engine]["incremental"], increment_events)
            console.print(f"  {engine}: incremental +1 h {measured[engine]['incremental']['seconds']:.1f} s "
                          f"(increment landed: bronze and silver +{increment_events:,})")
        parity: dict[str, Any] | None = None
        if len(engines) == 2:
            from lakehouse.parity import gold_fingerprints, mismatches

            parity = mismatches(*(gold_fingerprints(lakes[engine]) for engine in engines))
            if parity:
                raise WorkloadError(f"the engines' gold tables differ: {parity}")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    results = {
        "events": args.events, "increment_events": increment_events, "drivers": args.drivers, "riders": args.riders,
        "cpu_count": os.cpu_count(), "simulate_s": sim_s, "load_base_s": load_base["seconds"],
        "load_increment_s": load_increment["seconds"],
        "baseline_scan": {"seconds": scan["seconds"], "peak_rss_mb": scan["peak_rss_mb"], "rows": scan["rows"]},
        "engines": {engine: {phase: _summary(result) for phase, result in phases.items()} for engine, phases in measured.items()},
        "gold_parity": "equal row counts and key checksums" if parity == {} else None,
        "target_incremental_s": TARGET_INCREMENTAL_S, "target_spark_ratio": TARGET_SPARK_RATIO,
    }
    console.print(_run_table(results))
    for engine, phases in results["engines"].items():
        for line in sorted({*phases["full"]["quality_failures"], *phases["incremental"]["quality_failures"]}):
            console.print(f"[yellow]data quality finding ({engine}):[/] {line}")
    if "duckdb" in results["engines"]:
        seconds = results["engines"]["duckdb"]["incremental"]["seconds"]
        verdict = "meets" if seconds <= TARGET_INCREMENTAL_S else "misses"
        console.print(f"DuckDB incremental build {verdict} the {TARGET_INCREMENTAL_S:.0f} s target at {args.events:,} events "
                      f"({seconds:.1f} s)")
    if parity == {}:
        console.print("gold on both engines: equal row counts and key checksums")
    _save(results)
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
