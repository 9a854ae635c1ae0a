"""Bronze throughput: events/s per worker into Delta, next to a bare aiokafka consumer (the ceiling).

Three numbers from one run over the same GPS backlog in a fresh topic namespace:

- **bare aiokafka consumer**: `getmany` over all partitions, touching every record — how fast one
  process can read the topic at all (the ceiling);
- **bronze writer only**: the records fetched above through `BronzeWriter.write` (decode, validate,
  Arrow, Delta commits with app transactions) in batches of the configured size, no Kafka — the
  writer's own cost;
- **Faust no-op**: this project's Faust app (`create_app`, same consumer settings) with one agent
  that only counts `take_events` batches — what Faust's per-event machinery alone allows;
- **bronze worker**: a real `rideshare worker --topologies bronze` subprocess (Faust + take_events
  micro-batches + Delta), timed from its first to its last commit (start-up and group join excluded).

Needs Kafka (`rideshare infra up`; started and stopped here if it was down). Target: >= 50,000
events/s per worker.

    .venv/bin/python -m bench.bronze_bench [--events 100000] [--batch-records 5000] [--batch-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from rich.console import Console
from rich.table import Table

from core.producer import EventProducer
from core.settings import PROJECT_ROOT, Settings, load_settings
from lakehouse.bronze.specs import bronze_table_uri
from lakehouse.bronze.validation import KafkaRecord
from lakehouse.bronze.writer import BronzeWriter
from rideshare.infra import KafkaService
from rideshare.supervisor import ChildProcess, rideshare_command, wait_until
from rideshare.topics import create_topics
from schemas.catalog import topic_spec
from streams.app import create_app
from streams.topics import catalog_topic

RESULTS = Path(__file__).resolve().parent / "results" / "bronze.json"
TARGET_EVENTS_PER_S = 50_000
console = Console()


def _produce(settings: Settings, events: int) -> float:
    start_ms = int(time.time() * 1000)
    producer = EventProducer(settings)
    started = time.perf_counter()
    for n in range(events):
        producer.send("gps_ping", {
            "event_id": f"bench-{n:09d}", "event_time": start_ms + n, "session_id": "bench", "correlation_id": f"D{n % 2000:05d}",
            "causation_id": None, "entity_type": "driver", "entity_id": f"D{n % 2000:05d}", "lat": -23.55 + (n % 100) * 1e-4,
            "lon": -46.63 - (n % 77) * 1e-4, "heading_deg": float(n % 360), "speed_kmh": 32.5, "accuracy_m": 6.0,
            "trip_id": None if n % 3 else f"trip-{n // 3}", "driver_status": "available"})
    producer.flush()
    return events / (time.perf_counter() - started)


async def _bare_consumer(settings: Settings, events: int) -> tuple[float, list[KafkaRecord]]:
    spec = topic_spec("gps")
    topic = spec.qualified(settings.topic_namespace)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=2000)
    await consumer.start()
    records: list[KafkaRecord] = []
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(spec.partitions)])
        await consumer.seek_to_beginning()
        started = time.perf_counter()
        while len(records) < events:
            for tp, messages in (await consumer.getmany(timeout_ms=1000, max_records=10_000)).items():
                records.extend(KafkaRecord(tp.topic, tp.partition, m.offset, m.timestamp, m.key, m.value) for m in messages)
        elapsed = time.perf_counter() - started
    finally:
        await consumer.stop()
    return len(records) / elapsed, records


def _writer_only(settings: Settings, records: list[KafkaRecord], batch_records: int) -> float:
    writer = BronzeWriter(settings.model_copy(update={"lake_uri": f"{settings.lake_uri}-writer-only"}), "gps")
    started = time.perf_counter()
    for index in range(0, len(records), batch_records):
        writer.write(records[index:index + batch_records])
    return len(records) / (time.perf_counter() - started)


def _rows(uri: str) -> int:
    try:
        actions = DeltaTable(uri).get_add_actions(flatten=True)
    except TableNotFoundError:
        return 0
    return int(sum(actions.column("num_records").to_pylist())) if actions.num_rows else 0


def _worker(settings: Settings, events: int, log_dir: Path) -> dict[str, float]:
    worker = ChildProcess("bronze-worker", rideshare_command("worker", "--topologies", "bronze", "--web-port", str(_free_port()),
                                                             "--loglevel", "warning"), log_dir / "bronze-worker.log",
                          env=_child_env(settings))
    uri = bronze_table_uri(settings, "gps")
    launched = time.perf_counter()
    worker.start()
    try:
        if not wait_until(lambda: not worker.running() or _rows(uri) > 0, timeout_s=180, interval_s=0.1) or not worker.running():
            raise RuntimeError(f"the bronze worker wrote nothing; see {worker.log_file}")
        first_seen, first_rows = time.perf_counter(), _rows(uri)
        last_rows, last_change = first_rows, first_seen
        while last_rows < events:
            if not worker.running() or time.perf_counter() - last_change > 120:
                raise RuntimeError(f"the bronze worker stalled at {last_rows}/{events} rows; see {worker.log_file}")
            time.sleep(0.05)
            rows = _rows(uri)
            if rows != last_rows:
                last_rows, last_change = rows, time.perf_counter()
        done = time.perf_counter()
    finally:
        worker.stop()
    return {"events_per_s": (events - first_rows) / max(done - first_seen, 1e-9),
            "end_to_end_s": done - launched, "startup_s": first_seen - launched}


def _child_env(settings: Settings) -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("RIDESHARE_")} | {
        "RIDESHARE_TOPIC_NAMESPACE": settings.topic_namespace, "RIDESHARE_LAKE_URI": settings.lake_uri,
        "RIDESHARE_LOCAL_DIR": str(settings.local_dir), "RIDESHARE_KAFKA_BOOTSTRAP": settings.bootstrap_servers,
        "RIDESHARE_BRONZE_BATCH_MAX_RECORDS": str(settings.bronze_batch_max_records),
        "RIDESHARE_BRONZE_BATCH_MAX_SECONDS": str(settings.bronze_batch_max_seconds)}


def _faust_noop(settings: Settings, events: int, log_dir: Path) -> float:
    result = log_dir / "faust-noop.json"
    command = [sys.executable, "-m", "bench.bronze_bench", "--faust-noop-child", str(result), "--events", str(events)]
    child = ChildProcess("faust-noop", command, log_dir / "faust-noop.log", env=_child_env(settings), cwd=PROJECT_ROOT).start()
    try:
        if not wait_until(lambda: not child.running() or result.exists(), timeout_s=300, interval_s=0.2) or not result.exists():
            raise RuntimeError(f"the no-op Faust worker gave no result; see {child.log_file}")
    finally:
        child.stop()
    return float(json.loads(result.read_text())["events_per_s"])


def _faust_noop_child(result: Path, events: int) -> None:
    """Child mode: create_app with no topologies + one counting agent; writes its rate to `result`."""
    from faust.worker import Worker

    settings = load_settings()
    app = create_app(settings, app_id=f"{settings.topic_namespace}bench-faust-noop", web_port=_free_port())
    state: dict[str, float] = {"count": 0, "first_batch": 0, "started": 0.0}

    async def count(stream: Any) -> None:
        async for batch in stream.take_events(settings.bronze_batch_max_records, within=settings.bronze_batch_max_seconds):
            if not state["started"]:
                state["started"], state["first_batch"] = time.perf_counter(), len(batch)
            state["count"] += len(batch)
            if state["count"] >= events and not result.exists():
                rate = (state["count"] - state["first_batch"]) / max(time.perf_counter() - state["started"], 1e-9)
                result.write_text(json.dumps({"events_per_s": rate}))

    app.agent(catalog_topic(app, settings, "gps"), name=f"{settings.topic_namespace}bench-noop", concurrency=1)(count)
    sys.argv = [sys.argv[0], "worker"]
    Worker(app, loglevel="warning").execute_from_commandline()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_bronze(*, events: int = 100_000, batch_records: int = 5_000, batch_seconds: float = 5.0) -> dict[str, Any]:
    """Run the three measurements over one backlog of `events` GPS pings; returns the results."""
    run = uuid.uuid4().hex[:6]
    base = load_settings()
    work = base.local_dir / "bench" / f"bronze-{run}"
    settings = load_settings(topic_namespace=f"benchbronze{run}.", lake_uri=str(work / "lake"), local_dir=work / "local",
                             bronze_batch_max_records=batch_records, bronze_batch_max_seconds=batch_seconds)
    kafka = KafkaService(base)
    started_kafka = kafka.start()
    try:
        create_topics(settings)
        with console.status(f"producing {events:,} GPS pings ..."):
            produce_rate = _produce(settings, events)
        with console.status("bare aiokafka consumer ..."):
            bare_rate, records = asyncio.run(_bare_consumer(settings, events))
        with console.status("bronze writer only ..."):
            writer_rate = _writer_only(settings, records, batch_records)
        del records
        with console.status("Faust no-op worker (subprocess) ..."):
            faust_rate = _faust_noop(settings, events, work)
        with console.status("bronze worker (Faust subprocess) ..."):
            worker = _worker(settings, events, work)
    finally:
        if started_kafka:
            kafka.stop()
    shutil.rmtree(work / "lake", ignore_errors=True)
    shutil.rmtree(Path(f"{settings.lake_uri}-writer-only"), ignore_errors=True)
    return {
        "benchmark": "bronze", "events": events, "batch_records": batch_records, "batch_seconds": batch_seconds,
        "cpu_count": os.cpu_count(), "produce_events_per_s": round(produce_rate),
        "bare_consumer_events_per_s": round(bare_rate), "writer_only_events_per_s": round(writer_rate),
        "faust_noop_events_per_s": round(faust_rate), "worker_vs_faust_noop": round(worker["events_per_s"] / faust_rate, 3),
        "worker_events_per_s": round(worker["events_per_s"]), "worker_startup_s": round(worker["startup_s"], 2),
        "worker_end_to_end_s": round(worker["end_to_end_s"], 2),
        "worker_vs_bare_consumer": round(worker["events_per_s"] / bare_rate, 3),
        "target_events_per_s": TARGET_EVENTS_PER_S, "meets_target": worker["events_per_s"] >= TARGET_EVENTS_PER_S,
    }


def _print(result: dict[str, Any]) -> None:
    table = Table(title=f"bronze: {result['events']:,} GPS pings, batches of {result['batch_records']:,} / {result['batch_seconds']:g} s")
    table.add_column("path")
    table.add_column("events/s", justify="right")
    table.add_column("vs bare consumer", justify="right")
    bare = result["bare_consumer_events_per_s"]
    for label, key in (("bare aiokafka consumer (ceiling)", "bare_consumer_events_per_s"),
                       ("bronze writer only (no Kafka)", "writer_only_events_per_s"),
                       ("Faust no-op take_events agent", "faust_noop_events_per_s"),
                       ("bronze worker (Faust -> Delta)", "worker_events_per_s")):
        table.add_row(label, f"{result[key]:,}", f"{result[key] / bare:.0%}")
    console.print(table)
    verdict = "[green]meets[/]" if result["meets_target"] else "[red]misses[/]"
    console.print(f"worker {verdict} the {TARGET_EVENTS_PER_S:,} events/s target; start-up {result['worker_startup_s']} s, "
                  f"end to end {result['worker_end_to_end_s']} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-records", type=int, default=5_000)
    parser.add_argument("--batch-seconds", type=float, default=5.0)
    parser.add_argument("--faust-noop-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.faust_noop_child:
        _faust_noop_child(args.faust_noop_child, args.events)
        return
    result = bench_bronze(events=args.events, batch_records=args.batch_records, batch_seconds=args.batch_seconds)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    _print(result)
    console.print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
