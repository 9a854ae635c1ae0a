"""A replayable weekday through Kafka: how long the lockstep surge loop takes with one worker.

`rideshare sim run --speed max --sink kafka` runs in lockstep: at every surge step (60 s of event
time) the simulation waits until the surge topology has answered for that step. This benchmark runs
the default world's weekday (Monday 06:00, 24 h) that way against one worker (`rideshare worker`:
one real-time and one bronze process) in a fresh topic namespace, and, as the baseline in the same
run, the same weekday with the surge topology's engine in this process (`--surge in-process`, null
sink): the simulation's own cost, with no Kafka and no waiting.

Checked before any figure is kept: every step was answered (steps = simulated day / step), and every
event the simulation counted is on the topics (end offsets = events + the step markers).
Target: the weekday through Kafka in under 10 minutes.

    .venv/bin/python -m bench.lockstep [--hours 24] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents_sim.sinks import KafkaSink, NullSink, Sink
from agents_sim.surge import LockstepSurge
from core.settings import Settings, load_settings
from rideshare.infra import KafkaService, RedisService
from rideshare.simulations import WorldOptions, build_runtime, speed_option
from rideshare.topics import create_topics, delete_namespace
from rideshare.worker_process import WorkerProcess
from schemas.catalog import CATALOG, topic_spec
from schemas.limits import SPEED_MAX
from schemas.markers import MARKED_TOPICS

RESULTS = Path(__file__).resolve().parent / "results" / "lockstep.json"
TARGET_S = 600.0
console = Console()


def run_day(settings: Settings, world: WorldOptions, sink: Sink, *, surge_mode: str, hours: float, label: str) -> dict[str, Any]:
    """One simulated stretch of `hours` from the world's start, timed, with a progress bar."""
    runtime = build_runtime(settings, world, sink, speed=speed_option(SPEED_MAX), surge_mode=surge_mode,
                            end_ms=world.config().start_ms + int(hours * 3_600_000))
    start_ms, end_ms = world.config().start_ms, world.config().start_ms + int(hours * 3_600_000)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    started = time.monotonic()
    runtime.start()
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"{label}: simulated hours", total=hours)
            while not runtime.wait(0.5):
                progress.update(task, completed=(runtime.sim.now - start_ms) / 3_600_000)
    finally:
        runtime.stop()
        sink.close()
    if runtime.error is not None:
        raise SystemExit(f"{label} failed: {runtime.error!r}")
    wall_s = time.monotonic() - started
    surge = runtime.sim.surge
    result = {"wall_s": round(wall_s, 1), "simulated_s": (runtime.sim.now - start_ms) / 1000, "events": runtime.sim.events.counter,
              "speed": round((runtime.sim.now - start_ms) / 1000 / wall_s, 1)}
    if isinstance(surge, LockstepSurge):
        result |= {"steps": surge.steps, "waited_s": round(runtime.surge_wait_s, 1), "surge_updates_applied": surge.applied,
                   # every boundary inside the run is waited on; the run's end is not crossed
                   "expected_steps": -(-(end_ms - start_ms) // (surge.step_ms or 1)) - 1}
    return result


def records_on_topics(settings: Settings) -> dict[str, int]:
    """End offsets per catalog topic the simulation writes (fresh namespace: they start at 0)."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": f"bench-{uuid.uuid4().hex[:8]}"})
    counts: dict[str, int] = {}
    try:
        for spec in CATALOG:
            if spec.key in ("surge", "dlq"):
                continue  # written by the workers
            topic = spec.qualified(settings.topic_namespace)
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            counts[spec.key] = sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in metadata.partitions)
    finally:
        consumer.close()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=24.0, help="Simulated hours from Monday 06:00 (24 = the weekday).")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    world = WorldOptions(seed=args.seed)

    baseline = run_day(load_settings(), world, NullSink(), surge_mode="in-process", hours=args.hours, label="in-process loop")

    settings = load_settings(topic_namespace=f"benchlock{uuid.uuid4().hex[:6]}.")
    started = [service for service in (KafkaService(settings), RedisService(settings)) if service.start()]
    log_dir = settings.local_dir / "bench"
    workers = [WorkerProcess(settings, role=role, log_path=log_dir / f"lockstep-{role}.log") for role in ("realtime", "bronze")]
    try:
        create_topics(settings)
        for worker in workers:
            worker.start()
        with console.status("starting one real-time and one bronze worker ..."):
            workers[0].wait_assigned(topic_spec("gps").qualified(settings.topic_namespace), timeout_s=180)
        kafka = run_day(settings, world, KafkaSink(settings), surge_mode="lockstep", hours=args.hours, label="lockstep through Kafka")
        on_topics = records_on_topics(settings)
    finally:
        for worker in workers:
            worker.stop()
        delete_namespace(settings)
        for service in started:
            service.stop()

    markers = (kafka["steps"] + 1) * sum(topic_spec(key).partitions for key in MARKED_TOPICS)  # the first instant's and each step's
    checks = {"every step answered": kafka["steps"] == kafka["expected_steps"],
              "every event on the topics": sum(on_topics.values()) == kafka["events"] + markers,
              "same events as the baseline": kafka["events"] == baseline["events"]}
    document = {"hours": args.hours, "seed": args.seed, "workers": "1 real-time + 1 bronze", "target_s": TARGET_S,
                "kafka_lockstep": kafka | {"records_on_topics": sum(on_topics.values()), "markers": markers},
                "in_process_baseline": baseline, "checks": checks,
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for table in tables(document):
        console.print(table)
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        console.print(f"[red]workload checks failed: {', '.join(failed)}; nothing written[/]")
        return 1
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2))
    console.print(f"wrote {RESULTS}")
    return 0


def tables(results: dict[str, Any]) -> list[Table]:
    """The benchmark's table from its JSON (printed after a run, rendered into docs/benchmarks.md)."""
    kafka, baseline = results["kafka_lockstep"], results["in_process_baseline"]
    table = Table("run", "wall s", "simulated s / wall s", "events", "steps", "waited on the loop",
                  title=f"{results['hours']:g} simulated hours, seed {results['seed']}, {results['workers']} worker "
                        f"(target under {results['target_s']:.0f} s)")
    per_step = kafka["waited_s"] / kafka["steps"] * 1000 if kafka["steps"] else 0.0
    table.add_row("lockstep through Kafka", f"{kafka['wall_s']:,.1f}", f"{kafka['speed']:,.0f}×", f"{kafka['events']:,}",
                  f"{kafka['steps']:,}", f"{kafka['waited_s']:,.1f} s ({per_step:,.0f} ms/step)")
    table.add_row("in-process loop, null sink (baseline)", f"{baseline['wall_s']:,.1f}", f"{baseline['speed']:,.0f}×",
                  f"{baseline['events']:,}", "-", "-")
    table.add_row("ratio", f"{kafka['wall_s'] / baseline['wall_s']:.2f}×", "", "", "", "")
    return [table]


if __name__ == "__main__":
    raise SystemExit(main())
