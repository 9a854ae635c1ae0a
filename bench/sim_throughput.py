"""Simulation throughput: simulated seconds per wall second and events/s, null sink vs Kafka sink.

For each world size (1,000 drivers + 10,000 riders, and 10,000 + 100,000) the same simulated window
(a Monday from 07:30, busy AM peak) runs twice in this process:

- **null sink** (the baseline): the simulation alone, events built and dropped;
- **Kafka sink**: the same events through the project's EventProducer (Avro, idempotent, lz4,
  batched) into a fresh topic namespace, timed until every event is acknowledged (flush included).

Populating the world (DNA, profile events) is timed apart. Each measurement is the fastest of
`--repeat` runs (the machine is shared; the minimum is the least disturbed). Targets: >= 200x real time at
1,000/10,000 with the Kafka sink, and the Kafka sink at >= 70 % of the null-sink speed.

    .venv/bin/python -m bench.sim_throughput [--small-minutes 30] [--large-minutes 5] [--only small|large]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agents_sim.params import SimConfig
from agents_sim.simulation import Simulation
from agents_sim.sinks import KafkaSink, NullSink, Sink
from core.settings import load_settings
from rideshare.infra import KafkaService
from rideshare.topics import create_topics, delete_namespace

RESULTS = Path(__file__).resolve().parent / "results" / "sim_throughput.json"
START = "2026-03-02T07:30:00-03:00"
console = Console()


def best_of(repeat: int, make_sink: Callable[[], Sink], config: SimConfig, sim_seconds: int) -> dict[str, Any]:
    """The fastest of `repeat` runs: on a shared machine the minimum is the least disturbed measurement."""
    runs = []
    for _ in range(repeat):
        sink = make_sink()
        runs.append(measure(config, sink, sim_seconds))
        sink.close()
    return min(runs, key=lambda r: r["wall_s"])


def measure(config: SimConfig, sink: Sink, sim_seconds: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    sim = Simulation(config, sink)
    sim.populate()
    sink.flush()
    populate_s = time.perf_counter() - t0
    events_before = sim.events.counter
    t1 = time.perf_counter()
    sim.run_until(sim.now + sim_seconds * 1000)
    sink.flush()
    wall = time.perf_counter() - t1
    events = sim.events.counter - events_before
    return {"populate_s": round(populate_s, 2), "sim_s": sim_seconds, "wall_s": round(wall, 3),
            "speed_x": round(sim_seconds / wall, 1), "events": events, "events_per_s": round(events / wall),
            "trips_requested": sim.stats.requests, "trips_completed": sim.stats.completed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small-minutes", type=float, default=30.0, help="simulated minutes at 1,000/10,000")
    parser.add_argument("--large-minutes", type=float, default=5.0, help="simulated minutes at 10,000/100,000")
    parser.add_argument("--only", choices=("small", "large"), help="run one world size only")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement; the fastest counts")
    args = parser.parse_args()

    settings = load_settings(topic_namespace=f"bench{uuid.uuid4().hex[:8]}.")
    kafka = KafkaService(settings)
    started_kafka = kafka.start()
    create_topics(settings)
    worlds = [("1,000 drivers / 10,000 riders", 1_000, 10_000, int(args.small_minutes * 60)),
              ("10,000 drivers / 100,000 riders", 10_000, 100_000, int(args.large_minutes * 60))]
    if args.only:
        worlds = [worlds[0]] if args.only == "small" else [worlds[1]]
    results: list[dict[str, Any]] = []
    try:
        for label, drivers, riders, sim_s in worlds:
            config = SimConfig(seed=42, drivers=drivers, riders=riders, start=START)
            with console.status(f"{label}: null sink ({sim_s / 60:.0f} simulated min, best of {args.repeat})"):
                null = best_of(args.repeat, NullSink, config, sim_s)
            with console.status(f"{label}: Kafka sink ({sim_s / 60:.0f} simulated min, best of {args.repeat})"):
                kafka_run = best_of(args.repeat, lambda: KafkaSink(settings), config, sim_s)
            results.append({"world": label, "drivers": drivers, "riders": riders, "null": null, "kafka": kafka_run,
                            "kafka_vs_null": round(kafka_run["speed_x"] / null["speed_x"], 3)})
    finally:
        delete_namespace(settings)
        if started_kafka:
            kafka.stop()

    table = Table(title="Simulation throughput (sim s per wall s; baseline = null sink, same run)")
    for header in ("world", "sink", "populate s", "sim s", "wall s", "speed ×", "events/s", "vs null"):
        table.add_column(header, justify="right" if header not in ("world", "sink") else "left")
    for row in results:
        for name in ("null", "kafka"):
            r = row[name]
            table.add_row(row["world"] if name == "null" else "", name, f"{r['populate_s']:.1f}", f"{r['sim_s']:,}", f"{r['wall_s']:.1f}",
                          f"{r['speed_x']:,.0f}×", f"{r['events_per_s']:,}", "1.00" if name == "null" else f"{row['kafka_vs_null']:.2f}")
    console.print(table)
    small = next((r for r in results if r["drivers"] == 1_000), None)
    if small is not None:
        console.print(f"target ≥ 200× at 1,000/10,000 with Kafka: {small['kafka']['speed_x']:,.0f}× "
                      f"({'met' if small['kafka']['speed_x'] >= 200 else 'MISSED'}); Kafka ≥ 70 % of null: "
                      f"{small['kafka_vs_null']:.0%} ({'met' if small['kafka_vs_null'] >= 0.7 else 'MISSED'})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                   "load_average_1m": os.getloadavg()[0], "results": results}, indent=2))
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
