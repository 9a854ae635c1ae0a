"""Stream workers benchmark: throughput per worker next to baselines measured in the same run.

Every run reads the same kind of backlog (GPS pings of 2,000 drivers, 12 partitions) in a fresh topic
namespace and is timed from its first to its last processed event (start-up and group join excluded);
CPU is the worker process's user + system time over the same span (all its threads). Each run checks
that its workload really ran: events counted at the worker's nodes, rows in Delta, positions in Redis.
The backlog is large enough for a steady state: a worker's state grows to its horizons (dedup memory,
idle windows) and every timed span holds several of its checkpoints (tables and changelogs written,
offsets committed, Delta commits), so a run shorter than `MIN_CHECKPOINTS` checkpoint intervals is an
error, not a figure (a short run measured a worker before its first checkpoint: twice its steady rate).

- **bare aiokafka consumer**: `getmany` over every partition, no decoding (the ceiling of one process);
- **Faust no-op, today's configuration**: a Faust app as the platform built it before the lean path
  (Faust's own consumer and streams, default Monitor, a `take_events` agent) that only counts;
- **Faust no-op, lean path**: this project's app (`streams.app.create_app`) with a batch agent that
  only counts (streams/batches.py);
- **dedup + GPS worker**: a real `rideshare worker --role realtime --topologies gps`, with the CPU cost
  of each topology node (µs per event, from the worker's own counters) and what is left to the framework;
- **Quix Streams peer**: the same dedup + GPS work written with Quix Streams (bench/peers/quix_gps.py,
  its own venv), whose Redis positions must equal the Faust worker's;
- **bronze worker**: `rideshare worker --role bronze` into Delta, rows counted in the table;
- **scale-out**: 1 and 2 real-time workers on the same backlog (twice the others'): events/s and CPU-seconds per
  100k events;
- **latency**: pings produced at a fixed rate with event time = wall time; for each window delta
  published to Redis, the delay from the window's end to its arrival at a subscriber; at 50 % of one
  worker's measured capacity and at 5,000 events/s, next to produce -> bare consumer latency.

Needs Kafka and Redis (`rideshare infra up`); the Quix peer needs `make bench-peers`.

    .venv/bin/python -m bench.topologies [--events 1000000] [--only noop,realtime,quix,bronze,scaleout,latency]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from aiokafka import AIOKafkaConsumer, TopicPartition
from deltalake import DeltaTable
from rich.console import Console
from rich.table import Table

from core.producer import EventProducer
from core.settings import PROJECT_ROOT, Settings, load_settings
from lakehouse.bronze.specs import bronze_table_uri
from rideshare.supervisor import ChildProcess
from rideshare.topics import create_topics, delete_namespace
from rideshare.worker_process import Processed, WorkerProcess, free_port, measure_processing, settings_env
from schemas.catalog import topic_spec
from schemas.live_state import LiveStateKeys

RESULTS = Path(__file__).resolve().parent / "results" / "topologies.json"
QUIX_PYTHON = PROJECT_ROOT / ".local" / "bench" / "quix-venv" / "bin" / "python"
DRIVERS = 2_000
T0_MS = 1_790_000_000_000
TARGET_P99_MS = 300.0
MIN_CHECKPOINTS = 3
NOOP_CHECKPOINT_S = 1.0  # both no-op apps commit this often
console = Console()


@dataclass(frozen=True)
class Throughput(Processed):
    """One timed run with its label: events processed from the first to the last, and the CPU it took."""

    label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "events_per_s": round(self.events_per_s), "cpu_s_per_100k": round(self.cpu_s_per_100k, 2)}


_created: list[Settings] = []  # every namespace this run made: removed once it succeeded


def _fresh_settings(label: str, **overrides: Any) -> Settings:
    run = uuid.uuid4().hex[:6]
    base = load_settings()
    work = base.local_dir / "bench" / f"{label}-{run}"
    settings = load_settings(topic_namespace=f"bench{label}{run}.", local_dir=work, lake_uri=str(work / "lake"), **overrides)
    _created.append(settings)
    create_topics(settings)
    return settings


def remove_created() -> None:
    """Millions of records per run: a broker kept every earlier run's topics, and got slower with each."""
    for settings in _created:
        delete_namespace(settings)
        shutil.rmtree(settings.local_dir, ignore_errors=True)
    _created.clear()


def _ping(n: int) -> dict[str, Any]:
    """Ping n of the backlog: 2,000 drivers pinging every 2 s of event time, in time order."""
    driver = f"D{n % DRIVERS:05d}"
    return {"event_id": f"bench-{n:09d}", "event_time": T0_MS + (n // DRIVERS) * 2_000 + n % DRIVERS, "session_id": "bench",
            "correlation_id": driver, "causation_id": None, "entity_type": "driver", "entity_id": driver,
            "lat": -23.55 + (n % 100) * 1e-4, "lon": -46.63 - (n % 77) * 1e-4, "heading_deg": float(n % 360), "speed_kmh": 32.5,
            "accuracy_m": 6.0, "trip_id": None if n % 3 else f"trip-{n // 3}", "driver_status": "available" if n % 2 else "on_trip"}


def produce_backlog(settings: Settings, events: int) -> None:
    """`events` pings, then one later ping per driver, all at the same instant: every driver's last window
    closes (per partition watermark or per key alike) and the closing pings' own windows stay open."""
    producer = EventProducer(settings)
    with console.status(f"producing {events:,} GPS pings ..."):
        for n in range(events):
            producer.send("gps_ping", _ping(n))
        last = T0_MS + (events // DRIVERS + 2) * 2_000
        for driver in range(DRIVERS):
            producer.send("gps_ping", _ping(driver) | {"event_id": f"bench-end-{driver}", "event_time": last})
        producer.flush()


def backlog_size(events: int) -> int:
    return events + DRIVERS


def write_progress(path: Path, events: int) -> None:
    """Atomically, so the parent never reads half a file."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"events": events}))
    os.replace(partial, path)


def read_progress(path: Path) -> int:
    try:
        return int(json.loads(path.read_text())["events"])
    except (OSError, ValueError, KeyError):
        return 0


async def _bare_consumer(settings: Settings, events: int) -> Throughput:
    spec = topic_spec("gps")
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=2_000)
    await consumer.start()
    count = 0
    try:
        consumer.assign([TopicPartition(spec.qualified(settings.topic_namespace), p) for p in range(spec.partitions)])
        await consumer.seek_to_beginning()
        cpu0, started = time.process_time(), time.perf_counter()
        while count < events:
            for messages in (await consumer.getmany(timeout_ms=1_000, max_records=10_000)).values():
                count += sum(1 for message in messages if message.value)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        await consumer.stop()
    return Throughput(count, seconds, cpu, label="bare aiokafka consumer")


def spans_checkpoints(run: Throughput, interval_s: float) -> Throughput:
    """`run`, if its timed span holds at least `MIN_CHECKPOINTS` checkpoint intervals of `interval_s`."""
    if run.seconds < MIN_CHECKPOINTS * interval_s:
        raise RuntimeError(f"{run.label}: {run.events:,} events took {run.seconds:.1f} s, fewer than {MIN_CHECKPOINTS} checkpoints "
                           f"of {interval_s:g} s: not a steady state; run with a larger --events")
    return run


def _timed_child(label: str, child: ChildProcess, progress: Callable[[], int], expected: int, *, timeout_s: float = 600) -> Throughput:
    """Time a child from its first processed event to `expected` ones (progress() counts them)."""
    deadline = time.monotonic() + timeout_s
    first = 0
    while time.monotonic() < deadline:
        if not child.running():
            raise RuntimeError(f"{label}: the process exited with code {child.returncode}; see {child.log_file}")
        try:
            first = progress()
        except OSError:
            first = 0
        if first:
            break
        time.sleep(0.05)
    started, cpu0 = time.perf_counter(), child.cpu_seconds()
    last, last_change = first, started
    while last < expected:
        time.sleep(0.2)  # polling the worker's view costs it CPU too: a few times a second is enough
        try:
            current = progress()
        except OSError:
            continue
        if current != last:
            last, last_change = current, time.perf_counter()
        elif time.perf_counter() - last_change > 60:
            raise RuntimeError(f"{label}: stalled at {last:,}/{expected:,} events; see {child.log_file}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: {last:,}/{expected:,} events after {timeout_s:.0f} s; see {child.log_file}")
    return Throughput(last - first, last_change - started, child.cpu_seconds() - cpu0, label=label)


# ---- Faust no-op children ----------------------------------------------------------------------------

def _noop_child(mode: str, result: Path, events: int) -> None:
    """Child mode: a Faust app that only counts GPS records, in today's configuration or on the lean path."""
    import faust
    from faust.worker import Worker

    from streams.app import create_app
    from streams.batches import batch_agent
    from streams.topics import catalog_topic

    settings = load_settings()
    counted = {"events": 0}

    def count(n: int) -> None:
        before = counted["events"]
        counted["events"] += n
        if counted["events"] >= events or counted["events"] // 5_000 != before // 5_000:  # progress the parent polls
            write_progress(result, counted["events"])

    if mode == "lean":
        app = create_app(settings, app_id=f"{settings.topic_namespace}bench-noop-lean", web_port=free_port())

        class Count:
            async def process(self, messages: Any) -> None:
                count(len(messages))

            def checkpoint(self) -> None:
                return None

        batch_agent(app, catalog_topic(app, settings, "gps"), Count(), name="noop", max_events=settings.stream_batch_max_events,
                    within_s=settings.stream_batch_within_s, checkpoint_s=NOOP_CHECKPOINT_S)
    else:
        # The platform's Faust app before the lean path: Faust's own consumer, streams and Monitor.
        app = faust.App(f"{settings.topic_namespace}bench-noop-classic", broker=f"kafka://{settings.bootstrap_servers}",
                        store="memory://", datadir=str(settings.local_dir / "noop-classic"), web_port=free_port(),
                        web_host="127.0.0.1", web_bind="127.0.0.1", consumer_auto_offset_reset="earliest",
                        broker_commit_every=2_000, broker_commit_interval=NOOP_CHECKPOINT_S, broker_max_poll_records=2_000,
                        stream_buffer_maxsize=8_192, autodiscover=False, topic_replication_factor=1)
        topic = app.topic(topic_spec("gps").qualified(settings.topic_namespace), key_serializer="raw", value_serializer="raw")

        async def agent(stream: Any) -> None:
            async for batch in stream.take_events(5_000, within=5.0):
                count(len(batch))

        app.agent(topic, name="noop", concurrency=1)(agent)
    sys.argv = [sys.argv[0], "worker"]
    Worker(app, loglevel="warning").execute_from_commandline()


def bench_noop(settings: Settings, events: int) -> dict[str, Any]:
    runs = {}
    for mode, label in (("classic", "Faust no-op, today's configuration"), ("lean", "Faust no-op, lean path")):
        result = settings.local_dir / f"noop-{mode}.json"
        command = [sys.executable, "-m", "bench.topologies", "--noop-child", mode, "--result", str(result), "--events", str(events)]
        child = ChildProcess(label, command, settings.local_dir / f"noop-{mode}.log",
                             env={**os.environ, **settings_env(settings)}, cwd=PROJECT_ROOT).start()
        try:
            with console.status(f"{label} ..."):
                run = _timed_child(label, child, lambda r=result: read_progress(r), backlog_size(events))
        finally:
            child.stop(timeout_s=30)
        runs[mode] = spans_checkpoints(run, NOOP_CHECKPOINT_S).as_dict()
    runs["lean_vs_classic"] = round(runs["lean"]["events_per_s"] / runs["classic"]["events_per_s"], 2)
    return runs


# ---- real-time worker, Quix peer, bronze ---------------------------------------------------------------

def _realtime_worker(settings: Settings, label: str, expected: int, *, processes: int = 1) -> tuple[Throughput, list[dict[str, Any]]]:
    workers = [WorkerProcess(settings, role="realtime", topologies="gps", log_path=settings.local_dir / f"{label}-{i}.log")
               for i in range(processes)]
    gps = topic_spec("gps").qualified(settings.topic_namespace)
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.wait_assigned(gps, timeout_s=180)
        processed = measure_processing(workers, "dedup.decode-gps", expected)
        nodes = [node for worker in workers for node in worker.nodes().values()]
        run = Throughput(processed.events, processed.seconds, processed.cpu_seconds, label=label)
        return spans_checkpoints(run, settings.stream_checkpoint_s), nodes
    finally:
        for worker in workers:
            worker.stop()


def _node_costs(nodes: list[dict[str, Any]], run: Throughput, total_cpu_s: float) -> list[dict[str, Any]]:
    """µs of CPU per event of each node (summed over workers), and what the framework (fetching, Faust) took."""
    by_id: dict[str, dict[str, Any]] = {}
    for node in nodes:
        entry = by_id.setdefault(node["id"], {"node": node["id"], "cpu_us": 0, "events_in": 0})
        entry["cpu_us"] += int(node.get("cpu_us", 0))
        entry["events_in"] += int(node.get("events_in", 0))
    rows = [{**entry, "us_per_event": round(entry["cpu_us"] / max(run.events, 1), 2)} for entry in by_id.values() if entry["cpu_us"]]
    accounted = sum(entry["cpu_us"] for entry in rows)
    rows.append({"node": "framework: fetch, drain, acks, commits, changelogs, web", "cpu_us": round(total_cpu_s * 1e6 - accounted),
                 "events_in": run.events, "us_per_event": round((total_cpu_s * 1e6 - accounted) / max(run.events, 1), 2)})
    return rows


def _positions(settings: Settings, namespace: str) -> dict[str, Any]:
    client = redis.Redis.from_url(settings.redis_url)
    return {member.decode(): json.loads(value) for member, value in client.hgetall(LiveStateKeys(namespace).positions_latest).items()}


def bench_realtime(settings: Settings, events: int) -> dict[str, Any]:
    expected = backlog_size(events)
    with console.status("dedup + GPS worker (subprocess) ..."):
        # CPU over the whole process life too, for the node table: start-up is small next to the run
        run, nodes = _realtime_worker(settings, "realtime", expected)
    positions = _positions(settings, settings.topic_namespace)
    if len(positions) != DRIVERS:
        raise RuntimeError(f"the worker left {len(positions)} positions in Redis, expected one per driver ({DRIVERS})")
    return {"worker": run.as_dict(), "nodes": _node_costs(nodes, run, run.cpu_seconds), "redis_positions": len(positions)}


def bench_quix(settings: Settings, events: int, faust_positions: dict[str, Any] | None) -> dict[str, Any]:
    if not QUIX_PYTHON.exists():
        raise RuntimeError(f"no Quix Streams environment at {QUIX_PYTHON}: run `make bench-peers` first")
    namespace = f"{settings.topic_namespace}quix."
    expected = backlog_size(events)
    progress_file = settings.local_dir / "quix-progress.json"
    command = [str(QUIX_PYTHON), "-m", "bench.peers.quix_gps", "--bootstrap", settings.bootstrap_servers,
               "--topic", topic_spec("gps").qualified(settings.topic_namespace), "--group", f"{namespace}quix",
               "--redis-url", settings.redis_url, "--namespace", namespace, "--events", str(expected),
               "--state-dir", str(settings.local_dir / "quix-state"), "--progress", str(progress_file)]
    child = ChildProcess("quix", command, settings.local_dir / "quix.log", env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
                         cwd=PROJECT_ROOT).start()
    try:
        with console.status("Quix Streams peer (subprocess) ..."):
            run = _timed_child("Quix Streams dedup + GPS", child,
                               lambda: read_progress(progress_file), expected)
            deadline = time.monotonic() + 60
            while child.running() and time.monotonic() < deadline:  # the last checkpoint flushes its sink
                time.sleep(0.2)
    finally:
        child.stop(timeout_s=30)
    positions = _positions(settings, namespace)
    identical = faust_positions is not None and positions == faust_positions
    if faust_positions is not None and not identical:
        differing = sorted(k for k in set(positions) | set(faust_positions) if positions.get(k) != faust_positions.get(k))
        raise RuntimeError(f"Quix and Faust Redis positions differ for {len(differing)} entities, e.g. {differing[:3]}: "
                           f"{positions.get(differing[0])} vs {faust_positions.get(differing[0])}")
    return {"peer": run.as_dict(), "redis_positions": len(positions), "identical_redis_positions": identical}


def bench_bronze(settings: Settings, events: int) -> dict[str, Any]:
    expected = backlog_size(events)
    worker = WorkerProcess(settings, role="bronze", log_path=settings.local_dir / "bronze.log").start()
    uri = bronze_table_uri(settings, "gps")

    def rows() -> int:
        try:
            actions = DeltaTable(uri).get_add_actions(flatten=True)
        except Exception:  # not created yet
            return 0
        return int(sum(actions.column("num_records").to_pylist())) if actions.num_rows else 0

    try:
        with console.status("bronze worker (subprocess) ..."):
            run = spans_checkpoints(_timed_child("bronze worker", worker, rows, expected), settings.bronze_batch_max_seconds)
    finally:
        worker.stop()
    if rows() != expected:
        raise RuntimeError(f"bronze holds {rows():,} rows, expected {expected:,}")
    return {"worker": run.as_dict(), "delta_rows": rows()}


def bench_scaleout(events: int) -> dict[str, Any]:
    """1 and 2 workers on twice the backlog: two workers' span too must hold several checkpoints."""
    events *= 2
    runs: dict[str, Any] = {"events": backlog_size(events)}
    for processes in (1, 2):
        settings = _fresh_settings(f"scale{processes}")
        produce_backlog(settings, events)
        with console.status(f"{processes} real-time worker(s) ..."):
            run, _ = _realtime_worker(settings, f"{processes} worker(s)", backlog_size(events), processes=processes)
        runs[str(processes)] = run.as_dict()
    runs["speedup"] = round(runs["2"]["events_per_s"] / runs["1"]["events_per_s"], 2)
    return runs


# ---- latency ---------------------------------------------------------------------------------------------

def _produce_paced(settings: Settings, rate: int, seconds: float) -> tuple[float, int]:
    """Pings at `rate`/s with event time = wall time, then one later ping per driver (closes the last windows)."""
    producer = EventProducer(settings)
    total = int(rate * seconds)
    start_wall = time.time()
    start_ms = int(start_wall * 1000)
    for n in range(total):
        due = start_wall + n / rate
        if (ahead := due - time.time()) > 0:
            time.sleep(ahead)
        producer.send("gps_ping", _ping(n) | {"event_time": start_ms + int((due - start_wall) * 1000)})
    producer.flush()
    for driver in range(DRIVERS):
        producer.send("gps_ping", _ping(driver) | {"event_id": f"end-{driver}", "event_time": start_ms + int(seconds * 1000) + 1_000})
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
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest")
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


def _latency_run(rate: int, seconds: float, workers: int) -> dict[str, Any]:
    settings = _fresh_settings(f"lat{rate}")
    keys = LiveStateKeys(settings.topic_namespace)
    processes = [WorkerProcess(settings, role="realtime", topologies="gps", log_path=settings.local_dir / f"worker-{i}.log").start()
                 for i in range(workers)]
    received: list[tuple[float, int]] = []
    pubsub = redis.Redis.from_url(settings.redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(**{keys.positions_channel: lambda m: received.append((time.time(), json.loads(m["data"])["window_end"]))})
    thread = pubsub.run_in_thread(sleep_time=0.001, daemon=True)
    try:
        for process in processes:
            process.wait_assigned(topic_spec("gps").qualified(settings.topic_namespace), timeout_s=180)
        time.sleep(3)  # let the group settle (every worker has its partitions)
        with console.status(f"producing {rate:,} events/s for {seconds:g} s to {workers} worker(s) ..."):
            start_wall, start_ms = _produce_paced(settings, rate, seconds)
        last_window = start_ms + int(seconds * 1000)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(end >= last_window for _, end in received):
            time.sleep(0.2)
    finally:
        thread.stop()
        thread.join(2)
        pubsub.close()
        for process in processes:
            process.stop()
    closable = [(at, end) for at, end in received if start_ms + 1_000 < end <= last_window]
    if not closable:
        raise RuntimeError(f"no window published at {rate}/s; see {processes[0].log_path}")
    latencies = [(at - (start_wall + (end - start_ms) / 1000)) * 1000 for at, end in closable]
    return {"rate_events_per_s": rate, "workers": workers, "windows": len(latencies), **_percentiles(latencies)}


def bench_latency(capacity_events_per_s: float, *, seconds: float = 20.0) -> dict[str, Any]:
    half = int(capacity_events_per_s / 2)
    runs = [_latency_run(half, seconds, 1)]
    five_k = _latency_run(5_000, seconds, 1)
    if five_k["p99_ms"] > TARGET_P99_MS:
        five_k = _latency_run(5_000, seconds, 2)
    runs.append(five_k)
    return {"seconds": seconds, "runs": runs, "bare_consumer_at_5k": _bare_kafka_latency(5_000, seconds),
            "target_p99_ms": TARGET_P99_MS}


# ---- report ----------------------------------------------------------------------------------------------

def tables(results: dict[str, Any]) -> list[Table]:
    """The benchmark's tables from its JSON (printed after a run, rendered into docs/benchmarks.md)."""
    events = results.get("meta", {}).get("events")
    backlog = f", a backlog of {backlog_size(events):,} GPS pings" if events else ""
    table = Table(title=f"stream workers (one worker unless said{backlog})", title_justify="left")
    for column in ("path", "events/s", "CPU s / 100k events", "vs baseline"):
        table.add_column(column, justify="left" if column == "path" else "right")
    bare = results.get("bare", {})
    noop = results.get("noop", {})
    lean = noop.get("lean", {}).get("events_per_s")

    def row(label: str, run: dict[str, Any] | None, baseline: str) -> None:
        if run:
            table.add_row(label, f"{run['events_per_s']:,}", f"{run['cpu_s_per_100k']:.2f}", baseline)

    row("bare aiokafka consumer (ceiling)", bare, "")
    if noop:
        row("Faust no-op, today's configuration", noop["classic"], "1.00x")
        row("Faust no-op, lean path", noop["lean"], f"{noop['lean_vs_classic']:.2f}x today's")
    realtime = results.get("realtime", {}).get("worker")
    quix = results.get("quix", {}).get("peer")
    if realtime:
        share = f"{realtime['events_per_s'] / lean:.0%} of lean no-op" if lean else ""
        versus_quix = f", {realtime['events_per_s'] / quix['events_per_s']:.2f}x Quix" if quix else ""
        row("dedup + GPS worker", realtime, share + versus_quix)
    identical = results.get("quix", {}).get("identical_redis_positions")
    row("Quix Streams dedup + GPS (peer)", quix, "identical Redis output" if identical else "")
    bronze = results.get("bronze", {}).get("worker")
    if bronze:
        row("bronze worker (Faust -> Delta)", bronze, f"{bronze['events_per_s'] / lean:.0%} of lean no-op" if lean else "")
    scale = results.get("scaleout")
    if scale:
        row(f"dedup + GPS, 1 worker ({scale['events']:,} pings)", scale["1"], "")
        row("dedup + GPS, 2 workers", scale["2"], f"{scale['speedup']:.2f}x 1 worker")
    printed = [table]
    nodes = results.get("realtime", {}).get("nodes")
    if nodes:
        node_table = Table("node", "µs CPU / event", title="dedup + GPS worker: CPU per event by node", title_justify="left")
        for node in nodes:
            node_table.add_row(node["node"], f"{node['us_per_event']:.2f}")
        printed.append(node_table)
    latency = results.get("latency")
    if latency:
        lat_table = Table("produce -> Redis publish", "workers", "p50 ms", "p99 ms", title=f"latency (target p99 <= {TARGET_P99_MS:g} ms)",
                          title_justify="left")
        for run in latency["runs"]:
            lat_table.add_row(f"@ {run['rate_events_per_s']:,} events/s", str(run["workers"]), str(run["p50_ms"]), str(run["p99_ms"]))
        base = latency["bare_consumer_at_5k"]
        lat_table.add_row("produce -> bare consumer @ 5,000/s (baseline)", "-", str(base["p50_ms"]), str(base["p99_ms"]))
        printed.append(lat_table)
    return printed


BENCHES = ("noop", "realtime", "quix", "bronze", "scaleout", "latency")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="GPS backlog size of the throughput runs (each must span several checkpoints)")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of: {', '.join(BENCHES)}")
    parser.add_argument("--noop-child", choices=("classic", "lean"), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.noop_child:
        _noop_child(args.noop_child, args.result, backlog_size(args.events))
        return
    chosen = set(args.only.split(","))
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["meta"] = {"cpu_count": os.cpu_count(), "events": args.events, "load_average_at_start": os.getloadavg()[0]}

    def save() -> None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    shared = _fresh_settings("rt")
    produce_backlog(shared, args.events)
    with console.status("bare aiokafka consumer ..."):
        results["bare"] = asyncio.run(_bare_consumer(shared, backlog_size(args.events))).as_dict()
    if "noop" in chosen:
        results["noop"] = bench_noop(shared, args.events)
        save()
    if "realtime" in chosen or "quix" in chosen:
        results["realtime"] = bench_realtime(shared, args.events)
        save()
    if "quix" in chosen:
        results["quix"] = bench_quix(shared, args.events, _positions(shared, shared.topic_namespace))
        save()
    if "bronze" in chosen:
        results["bronze"] = bench_bronze(shared, args.events)
        save()
    if "scaleout" in chosen:
        results["scaleout"] = bench_scaleout(args.events)
        save()
    if "latency" in chosen:
        capacity = results.get("realtime", {}).get("worker", {}).get("events_per_s", 20_000)
        results["latency"] = bench_latency(capacity)
        save()
    remove_created()  # kept when a run failed: its logs and state are under .local/bench/
    for table in tables(results):
        console.print(table)
    console.print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
