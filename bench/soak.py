"""Soak: 30 minutes at 5x the demo's event rate through the real pipeline; memory flat, lag bounded, nothing lost.

What runs, as `rideshare demo` runs it, in a topic namespace and lake of its own: Kafka and Redis from the
launcher (started if they are not running, and then stopped at the end), the real-time workers (one per
two cores) and one bronze worker under the restarting supervisor (`WorkerPool`), and `rideshare api`
(simulation, control API, WebSocket) with one WebSocket client connected. The reference is the demo's
load at a fixed rate: its seed and start instant, 300 drivers and 2,000 riders at speed 30 (`rideshare
demo` itself paces by the workers, `--speed auto`, which has no fixed rate). The soak runs --scale times
that population at the same speed; after the soak, the reference load is simulated over the same
simulated span through the null sink (deterministic: the events the demo emits there), and its rate at
speed 30 is compared with the soak's, counted at the sink.

Every --interval seconds: resident memory (VmRSS, with its anonymous and file-backed parts) of every
process (each worker, the API + simulation, each Kafka node, Redis), the consumer lag of both groups
(committed offsets against end offsets), events emitted, Redis memory and keys.

Pass criteria, after --warmup minutes: every process's RSS flat within +-10 % (median of the last tenth of
the samples against the first tenth), each group's lag bounded (no sample above 30 s of traffic) and not
growing (median of the last quarter at most 5 s of traffic above the first quarter's); nothing lost:
once the simulation is stopped and both groups drained, bronze holds every offset of every topic once
and every event id the simulation emitted exactly once. A table, bench/results/soak.json and
bench/results/soak.png (RSS and lag over time).

    .venv/bin/python -m bench.soak [--minutes 30] [--warmup 5] [--interval 5] [--scale 5]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from deltalake import DeltaTable
from rich.console import Console
from rich.live import Live
from rich.table import Table
from websockets.sync.client import connect as ws_connect

from core import consumer_lag
from core.consumer_lag import ConsumerLagError
from core.exceptions import RideshareError
from core.settings import Settings, load_settings
from lakehouse.bronze.specs import EVENT_TABLES, bronze_table_uri
from rideshare.cli.demo import DEMO_START, NO_WORKER_SPEED
from rideshare.cli.worker import default_processes
from rideshare.cli.world_options import DEFAULTS
from rideshare.infra import KafkaService, RedisService
from rideshare.infra.process import read_pid
from rideshare.simulations import WorldOptions
from rideshare.supervisor import ChildProcess, rideshare_command
from rideshare.topics import create_topics, delete_namespace
from rideshare.worker_pool import WorkerPool, WorkerSpec
from rideshare.worker_process import free_port, settings_env
from schemas.catalog import topic_spec
from schemas.limits import SPEED_MAX
from streams.app import WorkerRole, app_id_for

RESULTS = Path(__file__).resolve().parent / "results"
console = Console(width=None if sys.stdout.isatty() else 150)  # a log file gets the whole table

RSS_TOLERANCE = 0.10
LAG_MAX_S = 30.0  # no lag sample above this many seconds of traffic ...
LAG_GROWTH_S = 5.0  # ... and the last quarter's median at most this much above the first quarter's


@dataclass(frozen=True)
class ReferenceLoad:
    """The demo's load the soak is measured against: its world (seed, start) at the fixed speed it falls back to
    without workers, with the population of the reference demo (300 drivers, 2,000 riders). `rideshare demo`
    itself now paces by the workers (`--speed auto`), which has no fixed rate to multiply."""

    drivers: int = 300
    riders: int = 2_000
    speed: float = NO_WORKER_SPEED
    seed: int = DEFAULTS.seed
    start: str = DEMO_START

    def world(self, scale: int = 1) -> WorldOptions:
        return WorldOptions(seed=self.seed, drivers=self.drivers * scale, riders=self.riders * scale, start=self.start)


DEMO = ReferenceLoad()


def memory_of(pid: int | None) -> dict[str, int]:
    """Resident memory of `pid` in bytes: total, anonymous (heaps) and file-backed (mapped files); {} if gone."""
    if pid is None:
        return {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file"}
    out = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in fields:
            out[fields[name]] = int(value.split()[0]) * 1024
    return out


def cpu_seconds_of(pid: int | None) -> float | None:
    """User + system CPU seconds `pid` has used so far (None if gone)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_lag(admin: AdminClient, group: str) -> int | None:
    """Records `group` is behind over every partition it committed (None before its first commit)."""
    try:
        lag = consumer_lag.group_lag(admin, group, timeout_s=10)
    except ConsumerLagError:
        return None  # not answered this round: a gap in the series, not a figure
    return lag.total if lag.committed else None


@dataclass
class Sample:
    t_s: float
    memory: dict[str, dict[str, int]]
    cpu_s: dict[str, float | None]
    load_average: float
    lag: dict[str, int | None]
    events: int
    sim_time_ms: int
    speed_achieved: float
    redis_used_bytes: int
    redis_keys: int
    websocket_frames: int
    status_error: str | None = None  # the API's status call unanswered (its figures are 0)


class WebSocketReader:
    """One live-map client, as the UI is: reads every frame on a thread and counts them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ws-client", daemon=True)

    def start(self) -> WebSocketReader:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with ws_connect(self.url, open_timeout=30, max_size=None) as socket:
                while not self._stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        socket.recv(timeout=1.0)
                        self.frames += 1
        except Exception as exc:  # reported in the results: a live path that broke is a finding
            self.error = repr(exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@dataclass
class Platform:
    """The processes of one soak: services, supervised workers, the API; started and stopped together."""

    settings: Settings
    scale: int
    realtime_workers: int
    log_dir: Path
    started_services: list[KafkaService | RedisService] = field(default_factory=list)
    pool: WorkerPool | None = None
    api: ChildProcess | None = None
    api_port: int = 0
    _ticking: threading.Event = field(default_factory=threading.Event)
    pool_events: list[str] = field(default_factory=list)

    def start(self) -> None:
        s = self.settings
        for service in (KafkaService(s), RedisService(s)):
            if service.start():
                self.started_services.append(service)
        create_topics(s)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RIDESHARE_")} | settings_env(s)
        roles = [WorkerRole.REALTIME] * self.realtime_workers + [WorkerRole.BRONZE]
        specs = [WorkerSpec(role, free_port(), "warning") for role in roles]
        self.pool = WorkerPool(specs, self.log_dir, on_event=self.pool_events.append, env=env)
        self.pool.start()
        threading.Thread(target=self._tick, name="worker-pool", daemon=True).start()
        self.api_port = free_port()
        world = DEMO.world(self.scale)
        command = rideshare_command(
            "api", "--port", str(self.api_port), "--drivers", str(world.drivers), "--riders", str(world.riders),
            "--speed", f"{DEMO.speed:g}", "--seed", str(world.seed), "--start", world.start, "--autostart", "--positions", "redis",
            "--log-level", "warning", *[arg for spec in specs if spec.role == WorkerRole.REALTIME
                                        for arg in ("--worker-url", f"http://127.0.0.1:{spec.web_port}")])
        self.api = ChildProcess("simulation + API", command, self.log_dir / "api.log", env=env).start()
        self.api.wait_for_port(s.api_host, self.api_port, timeout_s=180)

    def _tick(self) -> None:
        assert self.pool is not None
        while not self._ticking.wait(0.5):
            self.pool.tick()

    def pids(self) -> dict[str, int | None]:
        """Every process of the soak by name (a restarted worker keeps its name, with its new pid)."""
        assert self.pool is not None and self.api is not None
        pids: dict[str, int | None] = {}
        for child in self.pool.children:
            pids[f"worker-{child.spec.role}-{child.spec.web_port}"] = child.process.pid
        pids["api+simulation"] = self.api.pid
        for node in KafkaService(self.settings).nodes:
            pids["kafka" if len(node.nodes) == 1 else f"kafka-{node.spec.node_id}"] = node.pid
        pids["redis"] = read_pid(RedisService(self.settings).pid_file)
        return pids

    def restarts(self) -> dict[str, int]:
        assert self.pool is not None
        return {f"worker-{child.spec.role}-{child.spec.web_port}": child.restarts for child in self.pool.children}

    def api_client(self) -> httpx.Client:
        key = self.settings.api_admin_keys[0].get_secret_value()
        return httpx.Client(base_url=f"http://{self.settings.api_host}:{self.api_port}", headers={"X-API-Key": key}, timeout=10)

    def stop_processes(self) -> None:
        """Stop the API (it flushes the simulation's events) and the workers (a clean leave of their groups)."""
        if self.api is not None:
            self.api.stop(timeout_s=60)
            self.api = None
        self._ticking.set()
        if self.pool is not None:
            self.pool.stop()
            self.pool = None

    def stop(self) -> None:
        """Every process of the soak, then Kafka and Redis if this soak started them (idempotent)."""
        self.stop_processes()
        for service in reversed(self.started_services):
            service.stop()
        self.started_services.clear()


# -- verdicts (pure) -----------------------------------------------------------------------------------------
def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def rss_verdict(series: list[int]) -> dict[str, Any]:
    """Drift of a post-warm-up RSS series: median of its last tenth against its first tenth."""
    tenth = max(1, len(series) // 10)
    first, last = _median(series[:tenth]), _median(series[-tenth:])
    drift = last / first - 1 if first else float("nan")
    return {"first_mb": first / 2**20, "last_mb": last / 2**20, "min_mb": min(series) / 2**20, "max_mb": max(series) / 2**20,
            "drift": drift, "passed": abs(drift) <= RSS_TOLERANCE}


def lag_verdict(series: list[int], events_per_s: float) -> dict[str, Any]:
    """A post-warm-up lag series is bounded (every sample below LAG_MAX_S of traffic) and not growing."""
    quarter = max(1, len(series) // 4)
    first, last = _median(series[:quarter]), _median(series[-quarter:])
    bound, growth_bound = events_per_s * LAG_MAX_S, events_per_s * LAG_GROWTH_S
    return {"median": _median(series), "max": max(series), "first_quarter_median": first, "last_quarter_median": last,
            "bound": bound, "growth_bound": growth_bound, "passed": max(series) <= bound and last - first <= growth_bound}


# -- the end: nothing lost -----------------------------------------------------------------------------------
def wait_drained(admin: AdminClient, groups: dict[str, str], timeout_s: float) -> dict[str, dict[str, Any]]:
    """After the simulation stopped: each group's lag until it reaches 0 (or the timeout), and how long that took."""
    started = time.monotonic()
    drained: dict[str, dict[str, Any]] = {name: {"lag": None, "drained_after_s": None} for name in groups}
    with console.status("the simulation stopped: waiting for both groups to drain ...") as status:
        while time.monotonic() - started < timeout_s:
            for name, group in groups.items():
                if drained[name]["drained_after_s"] is None:
                    drained[name]["lag"] = group_lag(admin, group)
                    if drained[name]["lag"] == 0:
                        drained[name]["drained_after_s"] = round(time.monotonic() - started, 1)
            status.update(f"the simulation stopped: waiting for both groups to drain ({drained}) ...")
            if all(d["drained_after_s"] is not None for d in drained.values()):
                break
            time.sleep(2)
    return drained


def audit_bronze(settings: Settings, session_id: str, emitted: int) -> dict[str, Any]:
    """Every offset of every event topic once in bronze, and every event id the simulation emitted once."""
    consumer_admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    metadata = consumer_admin.list_topics(timeout=10)
    tables: dict[str, Any] = {}
    prefix = f"{session_id}-"
    counters: list[np.ndarray] = []
    for table in EVENT_TABLES:
        topic = topic_spec(table.topic_key).qualified(settings.topic_namespace)
        request = {TopicPartition(topic, p): OffsetSpec.latest() for p in metadata.topics[topic].partitions}
        ends = {tp.partition: future.result(timeout=10).offset for tp, future in consumer_admin.list_offsets(request).items()}
        expected = sum(ends.values())
        try:
            frame = DeltaTable(bronze_table_uri(settings, table.topic_key)).to_pandas(
                columns=["kafka_partition", "kafka_offset", "event_id"])
        except Exception:  # no table: nothing was written (an empty topic) — counted below as rows 0
            frame = None
        rows = 0 if frame is None else len(frame)
        distinct = 0 if frame is None else len(frame[["kafka_partition", "kafka_offset"]].drop_duplicates())
        in_range = 0 if frame is None else int(sum(((frame.kafka_partition == p) & (frame.kafka_offset < end)).sum()
                                                   for p, end in ends.items()))
        tables[table.topic_key] = {"kafka_records": expected, "bronze_rows": rows, "distinct_offsets": distinct,
                                   "exactly_once": rows == distinct == in_range == expected}
        if frame is not None:
            ids = frame.event_id[frame.event_id.str.startswith(prefix)]
            counters.append(np.array([int(event_id[len(prefix):], 16) for event_id in ids], dtype=np.int64))
    all_ids = np.concatenate(counters) if counters else np.array([], dtype=np.int64)
    unique = np.unique(all_ids)
    missing = emitted - int(np.count_nonzero((unique >= 1) & (unique <= emitted)))
    return {"tables": tables, "sim_events_emitted": emitted, "sim_event_ids_in_bronze": len(all_ids),
            "sim_event_ids_doubled": len(all_ids) - len(unique), "sim_event_ids_missing": missing,
            "passed": all(t["exactly_once"] for t in tables.values()) and len(all_ids) == len(unique) == emitted and missing == 0}


def demo_baseline(span_s: float) -> dict[str, Any]:
    """The reference load over the soak's simulated span through the null sink: the events the demo emits there."""
    from agents_sim.runtime import SimulationRuntime
    from agents_sim.sinks import NullSink

    config = DEMO.world().config()
    runtime = SimulationRuntime(config, NullSink(), speed=SPEED_MAX, end_ms=config.start_ms + int(span_s * 1000))
    with console.status(f"baseline: the demo's load over the same {span_s / 3600:.1f} simulated hours ..."):
        runtime.start()
        while not runtime.wait(0.5):
            pass
        runtime.stop()
    events = int(runtime.status()["events_emitted"])
    return {"drivers": config.drivers, "riders": config.riders, "speed": DEMO.speed, "simulated_s": span_s, "events": events,
            "events_per_s": events / (span_s / DEMO.speed)}


# -- output ----------------------------------------------------------------------------------------------------
def plot(samples: list[Sample], warmup_s: float, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # the object API: no pyplot state, no display

    figure = Figure(figsize=(11, 10))
    FigureCanvasAgg(figure)
    rss_axes, lag_axes, rate_axes = figure.subplots(3, 1, sharex=True, height_ratios=(3, 3, 1.5))
    minutes = [sample.t_s / 60 for sample in samples]
    # The last sample is taken after the drain; one whose status call went unanswered has no event count.
    producing = [sample for sample in samples[:-1] if sample.status_error is None]
    rates = [(b.events - a.events) / (b.t_s - a.t_s) for a, b in itertools.pairwise(producing)]
    rate_axes.plot([sample.t_s / 60 for sample in producing[1:]], rates, color="black", linewidth=0.8)
    rate_axes.set_ylabel("events/s")
    for name in samples[-1].memory:
        rss_axes.plot(minutes, [s.memory.get(name, {}).get("rss", np.nan) / 2**20 for s in samples], label=name)
    rss_axes.set_ylabel("RSS (MiB)")
    rss_axes.set_yscale("log")
    rss_axes.legend(fontsize=7, ncol=3)
    for name in samples[-1].lag:
        lag_axes.plot(minutes, [np.nan if s.lag.get(name) is None else s.lag[name] for s in samples], label=f"{name} group")
    lag_axes.set_ylabel("consumer lag (records)")
    rate_axes.set_xlabel("minutes")
    lag_axes.legend(fontsize=8)
    for axes in (rss_axes, lag_axes, rate_axes):
        axes.axvline(warmup_s / 60, color="grey", linestyle="--", linewidth=1)
        axes.grid(alpha=0.3)
    figure.suptitle("Soak: RSS of every process, consumer lag of both groups, simulation events/s (dashed: end of warm-up)")
    figure.savefig(path, dpi=90, bbox_inches="tight")


def tables(result: dict[str, Any]) -> list[Table]:
    """The soak's tables from its JSON (printed after a run, rendered into docs/benchmarks.md)."""
    rate = result["rate"]
    run = Table("minutes (warm-up)", "events", "events/s", "vs the demo's rate", "machine load (median)", "passed",
                title="Soak run", title_justify="left")
    run.add_row(f"{result['minutes']:g} ({result['warmup_minutes']:g})", f"{rate['soak_events']:,}", f"{rate['soak_events_per_s']:,.0f}",
                f"{rate['ratio']:.2f}x {rate['demo_events_per_s']:,.0f}/s", f"{result['load_average_median']:.1f}",
                "yes" if result["passed"] else "no")
    memory = Table("process", "RSS MiB after warm-up", "at the end", "min / max", "change", "heap (anon) change", "CPU cores", "pass",
                   title="Resident memory after the warm-up (flat: change within +-10 %)", title_justify="left")
    for name, verdict in result["rss"].items():
        anon = result["anon_change"].get(name)
        memory.add_row(name, f"{verdict['first_mb']:,.0f}", f"{verdict['last_mb']:,.0f}",
                       f"{verdict['min_mb']:,.0f} / {verdict['max_mb']:,.0f}", f"{verdict['drift']:+.1%}",
                       "-" if anon is None else f"{anon:+.1%}", f"{result['cpu_cores_used'].get(name, float('nan')):.2f}",
                       "yes" if verdict["passed"] else "[red]no[/]")
    lag = Table("group", "median lag", "max", "first / last quarter median", "bound (30 s of events)", "drained after the run",
                "pass", title="Consumer lag after the warm-up (bounded, not growing)", title_justify="left")
    for name, verdict in result["lag"].items():
        drain = result["drained_lag"][name]
        drained = f"in {drain['drained_after_s']:g} s" if drain["drained_after_s"] is not None else f"[red]no: lag {drain['lag']}[/]"
        lag.add_row(name, f"{verdict['median']:,.0f}", f"{verdict['max']:,}",
                    f"{verdict['first_quarter_median']:,.0f} / {verdict['last_quarter_median']:,.0f}", f"{verdict['bound']:,.0f}",
                    drained, "yes" if verdict["passed"] else "[red]no[/]")
    audit = result["audit"]
    loss = Table("topic", "Kafka records", "bronze rows", "exactly once", title="Nothing lost (after both groups drained)",
                 title_justify="left")
    for topic, counts in audit["tables"].items():
        loss.add_row(topic, f"{counts['kafka_records']:,}", f"{counts['bronze_rows']:,}", "yes" if counts["exactly_once"] else "[red]no[/]")
    loss.add_row("simulation event ids", f"{audit['sim_events_emitted']:,} emitted", f"{audit['sim_event_ids_in_bronze']:,}",
                 f"{audit['sim_event_ids_missing']:,} missing, {audit['sim_event_ids_doubled']:,} doubled")
    return [run, memory, lag, loss]


def report(result: dict[str, Any]) -> None:
    rate = result["rate"]
    console.print()  # below the last live status line
    console.print(f"[bold]Soak[/]: {result['minutes']:g} min (warm-up {result['warmup_minutes']:g}), "
                  f"{rate['soak_events']:,} events at {rate['soak_events_per_s']:,.0f}/s = {rate['ratio']:.2f}x the demo's "
                  f"{rate['demo_events_per_s']:,.0f}/s over the same simulated span; machine load average (median) "
                  f"{result['load_average_median']:.1f} on {os.cpu_count()} cores; passed: {result['passed']}")
    for table in tables(result):
        console.print(table)
    for t_s, error in result["status_unanswered"]:
        console.print(f"[yellow]the API's status call went unanswered at {t_s} s: {error}[/]")


# -- the run ---------------------------------------------------------------------------------------------------
def _sample(platform: Platform, admin: AdminClient, groups: dict[str, str], api: httpx.Client, store: redis.Redis,
            reader: WebSocketReader, started: float) -> Sample:
    status_error = None
    try:
        status = api.get("/api/sim/status").json()
    except (httpx.HTTPError, ValueError) as exc:
        status, status_error = {}, repr(exc)
    try:
        used, keys = int(store.info("memory")["used_memory"]), int(store.dbsize())
    except redis.RedisError:
        used, keys = -1, -1
    pids = platform.pids()
    return Sample(time.monotonic() - started, {name: memory_of(pid) for name, pid in pids.items()},
                  {name: cpu_seconds_of(pid) for name, pid in pids.items()}, os.getloadavg()[0],
                  {name: group_lag(admin, group) for name, group in groups.items()}, int(status.get("events_emitted", 0)),
                  int(status.get("sim_time_ms", 0)), float(status.get("speed_achieved", 0.0)), used, keys, reader.frames,
                  status_error)


def _live_line(sample: Sample, minutes: float) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_row("elapsed", f"{sample.t_s / 60:5.1f} of {minutes:g} min", "events", f"{sample.events:,}",
                 "speed", f"{sample.speed_achieved:,.1f}x")
    grid.add_row("lag", ", ".join(f"{k} {v if v is not None else '-'}" for k, v in sample.lag.items()), "WebSocket frames",
                 f"{sample.websocket_frames:,}", "", "")
    grid.add_row("RSS MiB", ", ".join(f"{k} {v.get('rss', 0) / 2**20:,.0f}" for k, v in sample.memory.items()), "", "", "", "")
    return grid


@dataclass
class Production:
    """What the producing phase observed: the samples, the simulation's final status, how long it produced,
    how long each group took to drain afterwards, and the supervisor's view."""

    samples: list[Sample]
    final: dict[str, Any]
    produced_s: float
    drained: dict[str, dict[str, Any]]
    restarts: dict[str, int]
    websocket_frames: int
    websocket_error: str | None


def produce(platform: Platform, groups: dict[str, str], minutes: float, interval_s: float) -> Production:
    """Sample every `interval_s` while the simulation produces for `minutes`, stop it, wait for both groups to drain."""
    s = platform.settings
    key = s.api_viewer_keys[0].get_secret_value()
    reader = WebSocketReader(f"ws://{s.api_host}:{platform.api_port}/ws?key={key}").start()
    admin = AdminClient({"bootstrap.servers": s.bootstrap_servers})
    store = redis.Redis.from_url(s.redis_url)
    samples: list[Sample] = []
    started = time.monotonic()
    try:
        with platform.api_client() as api:
            with Live(console=console, refresh_per_second=1) as live:
                while time.monotonic() - started < minutes * 60:
                    due = time.monotonic() + interval_s
                    samples.append(_sample(platform, admin, groups, api, store, reader, started))
                    live.update(_live_line(samples[-1], minutes))
                    time.sleep(max(0.0, due - time.monotonic()))
            stopped = api.post("/api/sim/stop")
            stopped.raise_for_status()
            produced_s = time.monotonic() - started
            drained = wait_drained(admin, groups, timeout_s=1200)
            samples.append(_sample(platform, admin, groups, api, store, reader, started))
    finally:
        reader.stop()
        store.close()
    return Production(samples, stopped.json(), produced_s, drained, platform.restarts(), reader.frames, reader.error)


def remove_soak_data(settings: Settings, work_dir: Path, groups: dict[str, str]) -> None:
    """Millions of records: the soak's topics, lake and the workers' RocksDB state go (--keep leaves them)."""
    try:
        delete_namespace(settings)
    except (KafkaException, RideshareError) as exc:
        console.print(f"[yellow]could not delete the soak's topics ({exc}): delete the topics named {settings.topic_namespace}* by hand")
    shutil.rmtree(work_dir / "lake", ignore_errors=True)
    for group in groups.values():
        shutil.rmtree(settings.local_dir / "faust" / group, ignore_errors=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    namespace = f"soak{uuid.uuid4().hex[:6]}."
    work_dir = load_settings().local_dir / "soak" / namespace.rstrip(".")
    settings = load_settings(topic_namespace=namespace, lake_uri=str(work_dir / "lake"))
    groups = {role.value: app_id_for(settings, role) for role in (WorkerRole.REALTIME, WorkerRole.BRONZE)}
    platform = Platform(settings, args.scale, args.realtime_workers, work_dir / "logs")
    try:
        with console.status("starting Kafka, Redis, the workers and the simulation + API ..."):
            platform.start()
        production = produce(platform, groups, args.minutes, args.interval)
        platform.stop_processes()  # bronze has written all it will: audit what it holds
        audit = audit_bronze(settings, production.final["session_id"], int(production.final["events_emitted"]))
    finally:
        platform.stop_processes()
        if not args.keep:
            remove_soak_data(settings, work_dir, groups)
        platform.stop()
    start_ms = DEMO.world().config().start_ms
    baseline = demo_baseline((int(production.final["sim_time_ms"]) - start_ms) / 1000)
    return verdicts(args, settings, production, baseline, audit, platform.pool_events)


def verdicts(args: argparse.Namespace, settings: Settings, production: Production, baseline: dict[str, Any],
             audit: dict[str, Any], pool_events: list[str]) -> dict[str, Any]:
    samples, final, produced_s = production.samples, production.final, production.produced_s
    drained, restarts = production.drained, production.restarts
    emitted = int(final["events_emitted"])
    soak_rate = emitted / produced_s
    steady = [s for s in samples[:-1] if s.t_s >= args.warmup * 60]
    if len(steady) < 8:
        raise SystemExit(f"only {len(steady)} samples after the warm-up: run longer (--minutes) or sample more often (--interval)")
    rss = {}
    for name in samples[0].memory:
        series = [s.memory[name]["rss"] for s in steady if s.memory.get(name)]
        rss[name] = rss_verdict(series) if series else {"first_mb": 0, "last_mb": 0, "min_mb": 0, "max_mb": 0, "drift": float("nan"),
                                                         "passed": False}
    cpu_share = {name: (last - first) / (steady[-1].t_s - steady[0].t_s) for name in rss
                 if (first := steady[0].cpu_s.get(name)) is not None and (last := steady[-1].cpu_s.get(name)) is not None}
    anon_change = {name: rss_verdict(series)["drift"] for name in rss
                   if (series := [s.memory[name]["anon"] for s in steady if s.memory.get(name, {}).get("anon")])}
    lag = {name: lag_verdict([s.lag[name] for s in steady if s.lag.get(name) is not None] or [0], soak_rate) for name in drained}
    workload_ran = emitted > 0 and audit["sim_event_ids_in_bronze"] > 0 and production.websocket_frames > 0
    result = {
        "minutes": args.minutes, "warmup_minutes": args.warmup, "interval_s": args.interval, "scale": args.scale,
        "processes": {"realtime_workers": args.realtime_workers, "bronze_workers": 1, "kafka_nodes": settings.kafka_brokers},
        "rate": {"soak_events": emitted, "soak_events_per_s": soak_rate, "demo_events_per_s": baseline["events_per_s"],
                 "ratio": soak_rate / baseline["events_per_s"], "demo_baseline": baseline},
        "rss": rss, "anon_change": anon_change, "cpu_cores_used": cpu_share,
        "load_average_median": _median([sample.load_average for sample in steady]),
        "lag": lag, "drained_lag": drained, "audit": audit, "worker_restarts": restarts,
        "supervisor_events": pool_events,
        "status_unanswered": [(round(sample.t_s), sample.status_error) for sample in samples if sample.status_error],
        "websocket_frames": production.websocket_frames, "websocket_error": production.websocket_error,
        "load_average_at_end": os.getloadavg(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "workload_ran": workload_ran, "samples": [asdict(sample) for sample in samples],
    }
    result["passed"] = bool(workload_ran and audit["passed"] and all(v["passed"] for v in rss.values())
                            and all(v["passed"] for v in lag.values()) and not any(restarts.values()))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="How long the simulation produces (warm-up included).")
    parser.add_argument("--warmup", type=float, default=None, help="Minutes left out of the verdicts (default 5, a third of shorter runs).")
    parser.add_argument("--interval", type=float, default=5.0, help="Seconds between two samples.")
    parser.add_argument("--scale", type=int, default=5, help="Drivers and riders as a multiple of the demo's (5: 5x its rate).")
    parser.add_argument("--realtime-workers", type=int, default=default_processes(),
                        help="Real-time worker processes (default: one per two cores, as `rideshare demo`).")
    parser.add_argument("--keep", action="store_true", help="Keep the soak's topics and lake (removed by default).")
    args = parser.parse_args(argv)
    args.warmup = args.warmup if args.warmup is not None else min(5.0, args.minutes / 3)
    result = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2, default=str))
    plot([Sample(**s) for s in result["samples"]], args.warmup * 60, RESULTS / "soak.png")
    report(result)
    console.print(f"results: {RESULTS / 'soak.json'}, plot: {RESULTS / 'soak.png'}")
    if not result["workload_ran"]:
        console.print("[red]the workload did not run: no events reached bronze or no WebSocket frame arrived[/]")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

