"""GPS event produced -> received on the WebSocket: p50/p99 at 1,000 and 5,000 events/s with 50 clients.

Path measured: confluent-kafka producer -> Kafka -> Faust worker (dedup + GPS windows) -> Redis pub/sub
-> API live hub -> WebSocket -> 50 clients. Each ping carries the wall clock at send time as its
event_time, and a client's latency for a position is its receive time minus that event_time (one
machine, one clock). Baselines measured in the same run: Redis publish -> the same 50 WebSocket
clients (the API's share), and Redis publish -> a bare Redis subscriber (the floor).

Needs the local services (`rideshare infra up`) and the Faust worker (`rideshare worker`). Starts its
own worker and API processes in a fresh topic namespace and stops them at the end.

    .venv/bin/python -m bench.latency [--rates 200,1000,5000] [--seconds 10] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
import websockets
from rich.console import Console
from rich.table import Table

from core.producer import EventProducer
from core.settings import Settings, load_settings
from rideshare.infra import KafkaService, RedisService
from rideshare.supervisor import ChildProcess, rideshare_command
from rideshare.topics import create_topics, delete_namespace
from schemas.live_state import LiveStateKeys

RESULTS = Path(__file__).resolve().parent / "results" / "latency.json"
console = Console()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ping(phase: str, entity: int, seq: int, now_ms: int) -> dict[str, Any]:
    return {
        "event_id": f"{phase}-{entity}-{seq}", "event_time": now_ms, "session_id": "bench-latency",
        "correlation_id": f"{phase}-{entity}", "causation_id": None, "entity_type": "driver", "entity_id": f"{phase}-{entity}",
        "lat": -23.55 + (entity % 100) * 1e-3, "lon": -46.63 + (seq % 100) * 1e-4, "heading_deg": 90.0, "speed_kmh": 30.0,
        "accuracy_m": 5.0, "trip_id": None, "driver_status": "available",
    }


class Collector:
    """Latency samples per phase; fed by the WebSocket clients and the bare subscriber."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.frames = 0

    def positions(self, source: str, positions: list[dict[str, Any]]) -> None:
        now_ms = time.time() * 1000
        for position in positions:
            entity = str(position.get("entity_id", ""))
            phase = entity.rsplit("-", 1)[0]
            if isinstance(position.get("event_time"), int | float):
                self.samples[f"{source}:{phase}"].append(now_ms - position["event_time"])


async def _client(url: str, collector: Collector | None, stop: asyncio.Event) -> None:
    """A connected client; only probes (with a collector) parse frames: 50 parsing clients in one Python
    process would measure this process's JSON decoding, not the server."""
    async with websockets.connect(url, max_size=None) as ws:
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            if collector is None:
                continue
            message = json.loads(raw)
            collector.frames += 1
            if message.get("type") == "delta":
                collector.positions("ws", message.get("positions", []))


async def _bare_subscriber(settings: Settings, collector: Collector, stop: asyncio.Event, ready: asyncio.Event) -> None:
    client = aioredis.from_url(settings.redis_url)
    async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
        await pubsub.subscribe(LiveStateKeys(settings.topic_namespace).positions_channel)
        ready.set()
        while not stop.is_set():
            message = await pubsub.get_message(timeout=0.5)
            if message and message["type"] == "message":
                collector.positions("redis", json.loads(message["data"]).get("positions", []))
    await client.aclose()


def _produce(settings: Settings, phase: str, rate: int, seconds: float, entities: int) -> tuple[int, float]:
    """Send `rate` GPS pings per second for `seconds` (paced in 10 ms slices). Returns (sent, seconds taken)."""
    producer = EventProducer(settings)
    sent, started = 0, time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(rate * elapsed)
        while sent < due:
            producer.send("gps_ping", _ping(phase, sent % entities, sent, int(time.time() * 1000)))
            sent += 1
        time.sleep(0.01)
    producer.flush()
    return sent, time.monotonic() - started


def _publish_direct(settings: Settings, phase: str, rate: int, seconds: float, entities: int) -> tuple[int, float]:
    """Publish positions straight to the live-state channel, 10 batches per second (the baseline)."""
    client = redis.Redis.from_url(settings.redis_url)
    channel = LiveStateKeys(settings.topic_namespace).positions_channel
    sent, started = 0, time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(rate * elapsed)
        now_ms = int(time.time() * 1000)
        batch = [{"entity_type": "driver", "entity_id": f"{phase}-{(sent + i) % entities}", "lat": -23.55, "lon": -46.63,
                  "event_time": now_ms, "driver_status": "available"} for i in range(due - sent)]
        if batch:
            client.publish(channel, json.dumps({"window_end": now_ms, "positions": batch}))
            sent += len(batch)
        time.sleep(0.1)
    return sent, time.monotonic() - started


async def _run_phases(settings: Settings, ws_url: str, args: argparse.Namespace) -> dict[str, Any]:
    collector, stop, sub_ready = Collector(), asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(_client(ws_url, collector if i < args.probes else None, stop)) for i in range(args.clients)]
    tasks.append(asyncio.create_task(_bare_subscriber(settings, collector, stop, sub_ready)))
    await sub_ready.wait()
    # Warm-up: wait until the worker owns its partitions and positions reach the clients.
    deadline = time.monotonic() + 120
    while not collector.samples.get("ws:warmup") and time.monotonic() < deadline:
        await asyncio.to_thread(_produce, settings, "warmup", 200, 2.0, 50)
    if not collector.samples.get("ws:warmup"):
        raise SystemExit("no GPS position reached the WebSocket within 120 s: is the GPS topology running? see .local/bench/")
    phases: dict[str, Any] = {}
    settle_s = settings.gps_window_ms / 1000 + 2.0
    for rate in args.rates:
        for kind, send in (("kafka", _produce), ("direct", _publish_direct)):
            phase = f"{kind}{rate}"
            sent, took = await asyncio.to_thread(send, settings, phase, rate, args.seconds, args.entities)
            await asyncio.sleep(settle_s)
            phases[phase] = {"kind": kind, "rate": rate, "sent": sent, "achieved_rate": sent / took}
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for phase, info in phases.items():
        for source in ("ws", "redis"):
            samples = collector.samples.get(f"{source}:{phase}", [])
            info[source] = {"samples": len(samples), "p50_ms": _percentile(samples, 0.5), "p99_ms": _percentile(samples, 0.99),
                            "mean_ms": statistics.fmean(samples) if samples else float("nan")}
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # 200 ev/s shows the path below the worker's throughput; 1,000 and 5,000 are the targets.
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[200, 1000, 5000])
    parser.add_argument("--seconds", type=float, default=10.0, help="Duration of each measured phase.")
    parser.add_argument("--clients", type=int, default=50, help="Connected WebSocket clients.")
    parser.add_argument("--probes", type=int, default=3, help="How many of the clients parse frames and record latencies.")
    parser.add_argument("--entities", type=int, default=2000, help="Distinct drivers the pings cycle through.")
    args = parser.parse_args()

    namespace = f"benchlat{uuid.uuid4().hex[:6]}."
    env = {**os.environ, "RIDESHARE_TOPIC_NAMESPACE": namespace}
    settings = load_settings(topic_namespace=namespace)
    started = [svc for svc in (KafkaService(settings), RedisService(settings)) if svc.start()]
    worker_port, api_port = _free_port(), _free_port()
    log_dir = settings.local_dir / "bench"
    children: list[ChildProcess] = []
    try:
        create_topics(settings)
        # Only the real-time GPS path (dedup -> GPS windows -> Redis): the one this benchmark is about.
        worker_command = rideshare_command("worker", "--web-port", str(worker_port), "--topologies", "dedup,gps")
        worker = ChildProcess("worker", worker_command, log_dir / "latency-worker.log", env=env)
        children.append(worker.start())
        api = ChildProcess("api", rideshare_command(
            "api", "--port", str(api_port), "--sink", "null", "--positions", "redis", "--drivers", "0", "--riders", "0",
            "--worker-url", f"http://127.0.0.1:{worker_port}", "--log-level", "warning"), log_dir / "latency-api.log", env=env)
        children.append(api.start())
        with console.status("starting the Faust worker and the API ..."):
            worker.wait_for_port("127.0.0.1", worker_port, timeout_s=120)
            api.wait_for_port("127.0.0.1", api_port, timeout_s=120)
        key = settings.api_viewer_keys[0].get_secret_value()
        with console.status(f"measuring: rates {args.rates} ev/s, {args.clients} clients, {args.seconds:.0f} s each ..."):
            phases = asyncio.run(_run_phases(settings, f"ws://127.0.0.1:{api_port}/ws?key={key}", args))
    finally:
        for child in reversed(children):
            child.stop()
        delete_namespace(settings)
        for service in started:
            service.stop()
    _report(phases, args)
    return 0


def _report(phases: dict[str, Any], args: argparse.Namespace) -> None:
    results = []
    for rate in args.rates:
        kafka, direct = phases[f"kafka{rate}"], phases[f"direct{rate}"]
        baseline_p99 = direct["ws"]["p99_ms"]
        rows = [("Kafka>Faust>Redis>WS", kafka, "ws"), ("Kafka>Faust>Redis sub", kafka, "redis"),
                ("Redis pub>WS (baseline)", direct, "ws"), ("Redis pub>bare sub", direct, "redis")]
        for label, info, source in rows:
            stats = info[source]
            ratio = stats["p99_ms"] / baseline_p99 if baseline_p99 and baseline_p99 == baseline_p99 else float("nan")
            results.append({"path": label, "target_rate": rate, "achieved_rate": info["achieved_rate"], **stats,
                            "p99_ratio_vs_redis_to_ws": ratio})
    document = {"clients": args.clients, "probes": args.probes, "seconds_per_phase": args.seconds, "target_p99_ms": 300,
                "results": results, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for table in tables(document):
        console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2))
    console.print(f"wrote {RESULTS}")


def tables(results: dict[str, Any]) -> list[Table]:
    """The benchmark's table from its JSON (printed after a run, rendered into docs/benchmarks.md)."""
    table = Table("path", "target ev/s", "achieved ev/s", "samples", "p50 ms", "p99 ms", "p99 vs baseline",
                  title=f"GPS ping -> WebSocket latency ({results['clients']} clients, {results['probes']} measuring)")
    for row in results["results"]:
        table.add_row(row["path"], f"{row['target_rate']:,}", f"{row['achieved_rate']:,.0f}", f"{row['samples']:,}",
                      f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f}", f"{row['p99_ratio_vs_redis_to_ws']:.2f}×")
    return [table]


if __name__ == "__main__":
    sys.exit(main())
