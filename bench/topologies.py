"""Real-time topologies benchmark: dedup + GPS windows events/s per worker next to a bare aiokafka
consumer reading the same topic in the same run (the ceiling), and produce -> Redis publish latency.

- **bare aiokafka consumer**: `getmany` over all 6 partitions of a GPS backlog, no decoding;
- **Avro decode only**: the same fetched values through `schemas.codec.decode` (the per-event floor of
  any decoding consumer in Python);
- **dedup + GPS worker**: a real `rideshare worker --topologies dedup,gps` subprocess over that backlog,
  timed from its first to its last processed event (start-up and group join excluded);
- **latency**: events produced at a fixed rate with event time = wall time, for each published window
  delta the delay between the moment event time reached the window end (the first instant the window
  could close) and the moment a Redis subscriber received it. p50/p99 per rate, next to the
  produce -> bare aiokafka consumer latency at the same rate (baseline, same run).

Plus every benchmark listed in BENCHES (bronze's lives in bench/bronze_bench.py).
Needs Kafka and Redis (`rideshare infra up`). Targets: >= 50% of the bare consumer, p99 <= 250 ms at 5,000 events/s.

    .venv/bin/python -m bench.topologies [--events 30000] [--rates 100,5000] [--seconds 5] [--skip-bronze]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from core.producer import EventProducer
from core.settings import Settings, load_settings
from rideshare.topics import create_topics
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec
from schemas.codec import decode
from schemas.live_state import LiveStateKeys

RESULTS = Path(__file__).resolve().parent / "results" / "topologies.json"
TARGET_SHARE_OF_CEILING = 0.5
TARGET_P99_MS = 250.0
DRIVERS = 2_000
console = Console()


def _fresh_settings(label: str) -> Settings:
    run = uuid.uuid4().hex[:6]
    base = load_settings()
    work = base.local_dir / "bench" / f"{label}-{run}"
    settings = load_settings(topic_namespace=f"bench{label}{run}.", local_dir=work, lake_uri=str(work / "lake"))
    create_topics(settings)
    return settings


def _ping(n: int, event_time: int) -> dict[str, Any]:
    driver = f"D{n % DRIVERS:05d}"
    return {"event_id": f"bench-{n:09d}", "event_time": event_time, "session_id": "bench", "correlation_id": driver,
            "causation_id": None, "entity_type": "driver", "entity_id": driver, "lat": -23.55 + (n % 100) * 1e-4,
            "lon": -46.63 - (n % 77) * 1e-4, "heading_deg": float(n % 360), "speed_kmh": 32.5, "accuracy_m": 6.0,
            "trip_id": None, "driver_status": "on_trip"}


async def _bare_consumer(settings: Settings, events: int) -> tuple[float, list[bytes]]:
    spec = topic_spec("gps")
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=2_000)
    await consumer.start()
    values: list[bytes] = []
    try:
        consumer.assign([TopicPartition(spec.qualified(settings.topic_namespace), p) for p in range(spec.partitions)])
        await consumer.seek_to_beginning()
        started = time.perf_counter()
        while len(values) < events:
            for messages in (await consumer.getmany(timeout_ms=1_000, max_records=10_000)).values():
                values.extend(message.value for message in messages)
        elapsed = time.perf_counter() - started
    finally:
        await consumer.stop()
    return len(values) / elapsed, values


def _node_count(worker: WorkerProcess, node_id: str) -> int:
    for graph in worker.get_json("/topology/")["topologies"]:
        for node in graph["nodes"]:
            if node["id"] == node_id:
                return int(node["events_in"])
    raise KeyError(node_id)


def bench_realtime(*, events: int = 30_000) -> dict[str, Any]:
    """Dedup + GPS aggregation events/s of one worker over a backlog, next to the bare consumer."""
    settings = _fresh_settings("rt")
    with console.status(f"producing {events:,} GPS pings ..."):
        producer, start_ms = EventProducer(settings), 1_790_000_000_000
        for n in range(events):
            producer.send("gps_ping", _ping(n, start_ms + n))
        producer.flush()
    with console.status("bare aiokafka consumer ..."):
        bare_rate, values = asyncio.run(_bare_consumer(settings, events))
    started = time.perf_counter()
    for value in values:
        decode(value)
    decode_rate = len(values) / (time.perf_counter() - started)
    del values
    worker = WorkerProcess(settings, topologies="dedup,gps", log_path=settings.local_dir / "worker.log")
    with console.status("dedup + GPS worker (subprocess) ..."):
        launched = time.perf_counter()
        worker.start()
        try:
            worker.wait_assigned(topic_spec("gps").qualified(settings.topic_namespace), timeout_s=180)
            while (seen := _node_count(worker, "dedup.seen-gps")) == 0:
                time.sleep(0.05)
            first_at, first_seen = time.perf_counter(), seen
            last, last_change = seen, first_at
            while last < events:
                time.sleep(0.1)
                current = _node_count(worker, "dedup.seen-gps")
                if current != last:
                    last, last_change = current, time.perf_counter()
                elif time.perf_counter() - last_change > 60:
                    raise RuntimeError(f"worker stalled at {last}/{events}; see {worker.log_path}")
            done = last_change
        finally:
            worker.stop()
    worker_rate = (events - first_seen) / max(done - first_at, 1e-9)
    return {"benchmark": "realtime_dedup_gps", "events": events, "cpu_count": os.cpu_count(),
            "bare_consumer_events_per_s": round(bare_rate), "avro_decode_events_per_s": round(decode_rate),
            "worker_events_per_s": round(worker_rate), "worker_startup_s": round(first_at - launched, 2),
            "worker_vs_bare_consumer": round(worker_rate / bare_rate, 4),
            "meets_target": worker_rate / bare_rate >= TARGET_SHARE_OF_CEILING}


def _produce_paced(settings: Settings, rate: int, seconds: float) -> tuple[float, int]:
    """GPS pings at `rate`/s with event time = wall time, then one later ping per driver (closes the
    last windows). Returns (wall start, event-time start in ms)."""
    producer = EventProducer(settings)
    total = int(rate * seconds)
    start_wall = time.time()
    start_ms = int(start_wall * 1000)
    for n in range(total):
        due = start_wall + n / rate
        if (ahead := due - time.time()) > 0:
            time.sleep(ahead)
        producer.send("gps_ping", _ping(n, start_ms + int((due - start_wall) * 1000)))
    producer.flush()
    for n in range(total, total + DRIVERS):
        producer.send("gps_ping", _ping(n, start_ms + int(seconds * 1000) + 1_000))
    producer.flush()
    return start_wall, start_ms


def _percentiles(latencies_ms: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1), "max_ms": round(ordered[-1], 1)}


def _bare_kafka_latency(rate: int, seconds: float) -> dict[str, float]:
    """Baseline: produce -> bare aiokafka consumer latency at the same rate (same producer settings)."""
    settings = _fresh_settings(f"base{rate}")
    topic = topic_spec("gps")
    latencies: list[float] = []
    ready = threading.Event()

    async def consume() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic.qualified(settings.topic_namespace), p) for p in range(topic.partitions)])
            await consumer.seek_to_beginning()
            ready.set()
            deadline = time.monotonic() + seconds + 60
            while len(latencies) < int(rate * seconds) + DRIVERS and time.monotonic() < deadline:
                for messages in (await consumer.getmany(timeout_ms=200)).values():
                    now_ms = time.time() * 1000
                    latencies.extend(now_ms - int(dict(m.headers)["produced_at_ms"]) for m in messages)
        finally:
            await consumer.stop()

    thread = threading.Thread(target=lambda: asyncio.run(consume()), daemon=True)
    thread.start()
    ready.wait(30)
    _produce_paced(settings, rate, seconds)
    thread.join(seconds + 90)
    return _percentiles(latencies)


def bench_latency(*, rates: tuple[int, ...] = (100, 5_000), seconds: float = 5.0) -> dict[str, Any]:
    """Produce -> Redis publish latency of closed GPS windows at fixed produce rates (one worker)."""
    import redis

    runs = []
    for rate in rates:
        settings = _fresh_settings(f"lat{rate}")
        keys = LiveStateKeys(settings.topic_namespace)
        worker = WorkerProcess(settings, topologies="dedup,gps", log_path=settings.local_dir / "worker.log")
        worker.start()
        received: list[tuple[float, int]] = []
        pubsub = redis.Redis.from_url(settings.redis_url).pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(**{keys.positions_channel:
                            lambda m, sink=received: sink.append((time.time(), json.loads(m["data"])["window_end"]))})
        thread = pubsub.run_in_thread(sleep_time=0.001, daemon=True)
        try:
            worker.wait_assigned(topic_spec("gps").qualified(settings.topic_namespace), timeout_s=180)
            with console.status(f"producing {rate:,} events/s for {seconds:g} s ..."):
                start_wall, start_ms = _produce_paced(settings, rate, seconds)
            last_window = start_ms + int(seconds * 1000)
            deadline = time.monotonic() + 240
            with console.status("waiting for the last windows ..."):
                while time.monotonic() < deadline and not any(end >= last_window for _, end in received):
                    time.sleep(0.2)
        finally:
            thread.stop()
            thread.join(2)
            pubsub.close()
            worker.stop()
        closable = [(at, end) for at, end in received if end <= last_window]
        latencies_ms = [(at - (start_wall + (end - start_ms) / 1000)) * 1000 for at, end in closable]
        if not latencies_ms:
            raise RuntimeError(f"no window published at {rate}/s; see {worker.log_path}")
        with console.status(f"baseline: bare aiokafka consumer at {rate:,} events/s ..."):
            baseline = _bare_kafka_latency(rate, seconds)
        runs.append({"rate_events_per_s": rate, "windows": len(latencies_ms), **_percentiles(latencies_ms),
                     "bare_consumer": baseline, "p99_vs_bare_consumer": round(_percentiles(latencies_ms)["p99_ms"] /
                                                                             max(baseline["p99_ms"], 0.1), 1)})
    at_5k = next((run for run in runs if run["rate_events_per_s"] == 5_000), None)
    return {"benchmark": "latency_produce_to_redis", "seconds": seconds, "runs": runs, "target_p99_ms": TARGET_P99_MS,
            "meets_target": at_5k is not None and at_5k["p99_ms"] <= TARGET_P99_MS}


def _bronze() -> dict[str, Any]:
    from bench.bronze_bench import bench_bronze

    return bench_bronze()


# ---- Benchmarks run by this script, in order. Plug further topology benchmarks in here. ----------
BENCHES: dict[str, Callable[..., dict[str, Any]]] = {
    "realtime": bench_realtime,
    "latency": bench_latency,
    "bronze": _bronze,
}


def _print(results: dict[str, dict[str, Any]]) -> None:
    table = Table(title="real-time topologies (one worker)")
    table.add_column("measurement")
    table.add_column("value", justify="right")
    table.add_column("vs baseline", justify="right")
    realtime = results.get("realtime")
    if realtime:
        bare = realtime["bare_consumer_events_per_s"]
        table.add_row("bare aiokafka consumer (ceiling)", f"{bare:,} ev/s", "100%")
        table.add_row("Avro decode only (no Kafka)", f"{realtime['avro_decode_events_per_s']:,} ev/s",
                      f"{realtime['avro_decode_events_per_s'] / bare:.0%}")
        table.add_row("dedup + GPS worker", f"{realtime['worker_events_per_s']:,} ev/s", f"{realtime['worker_vs_bare_consumer']:.1%}")
    for run in (results.get("latency") or {}).get("runs", []):
        bare = run["bare_consumer"]
        table.add_row(f"produce -> bare aiokafka consumer @ {run['rate_events_per_s']:,} ev/s",
                      f"p50 {bare['p50_ms']:,} ms / p99 {bare['p99_ms']:,} ms", "baseline")
        table.add_row(f"produce -> Redis publish @ {run['rate_events_per_s']:,} ev/s",
                      f"p50 {run['p50_ms']:,} ms / p99 {run['p99_ms']:,} ms",
                      f"p99 {run['p99_vs_bare_consumer']}x baseline (target {TARGET_P99_MS:g} ms)")
    bronze = results.get("bronze")
    if bronze:
        table.add_row("bronze worker (Faust -> Delta)", f"{bronze['worker_events_per_s']:,} ev/s",
                      f"{bronze['worker_vs_bare_consumer']:.1%}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30_000, help="GPS backlog size for the throughput run")
    parser.add_argument("--rates", default="100,5000", help="comma-separated produce rates for the latency runs")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each latency run")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of: {', '.join(BENCHES)}")
    args = parser.parse_args()
    options: dict[str, dict[str, Any]] = {
        "realtime": {"events": args.events},
        "latency": {"rates": tuple(int(rate) for rate in args.rates.split(",")), "seconds": args.seconds},
        "bronze": {},
    }
    # --only refreshes its entries and keeps the others from the last run
    results: dict[str, dict[str, Any]] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.only.split(","):
        results[name] = BENCHES[name](**options[name])
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")  # keep what finished if a later one fails
    _print(results)
    console.print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
