"""`rideshare demo`: the whole platform on this machine, with a live status table.

Order: local services (Kafka, Redis) -> topics -> Faust worker(s) -> the simulation with API + UI ->
a periodic lakehouse build. A missing optional component (worker, lakehouse, UI build) is reported in
the table and the rest keeps running. Ctrl-C, SIGTERM or --duration stops, in reverse order, exactly
what this command started (services that were already running stay up). Exit code 0.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import typer
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from core.exceptions import RideshareError
from core.settings import PROJECT_ROOT, Settings
from rideshare.cli.common import console, settings, user_errors
from rideshare.cli.worker import default_processes
from rideshare.cli.world_options import DEFAULTS, DriversOption, RidersOption, SeedOption, SpeedOption
from rideshare.infra import KafkaService, RedisService
from rideshare.infra.process import port_open
from rideshare.simulations import speed_option
from rideshare.supervisor import ChildProcess, rideshare_command, stop_together
from rideshare.topics import create_topics
from schemas.limits import SPEED_AUTO, Speed, speed_label

DEMO_START = "2026-03-02T07:30:00-03:00"
NO_WORKER_SPEED = 30.0  # without a worker there is no lag to pace by
STYLE = {"up": "green", "starting": "yellow", "missing": "yellow", "failed": "red", "stopped": "dim", "idle": "cyan"}


@dataclass
class Component:
    name: str
    state: str = "starting"
    detail: str = ""
    process: ChildProcess | None = None


@dataclass
class DemoOptions:
    drivers: int
    riders: int
    speed: Speed
    seed: int
    start: str
    duration_s: float | None
    workers: int
    lakehouse_every_s: float
    api_port: int
    worker_port: int


@dataclass
class Demo:
    s: Settings
    options: DemoOptions
    log_dir: Path
    components: dict[str, Component] = field(default_factory=dict)
    started_services: list[KafkaService | RedisService] = field(default_factory=list)
    lakehouse_next_at: float = 0.0
    lakehouse_builds: int = 0
    lakehouse_last: str = ""

    # -- start -------------------------------------------------------------------------------------
    def start(self) -> None:
        for service in (KafkaService(self.s), RedisService(self.s)):
            name = service.__class__.__name__.removesuffix("Service")
            with console.status(f"starting {name} on {service.address} ..."):
                if service.start():
                    self.started_services.append(service)
            self._set(name.lower(), "up", f"{service.address}" + ("" if service in self.started_services else " (already running)"))
        with console.status("creating topics ..."):
            created = sum(made for _, made in create_topics(self.s))
        self._set("topics", "up", f"{created} created, namespace {self.s.topic_namespace or '(none)'}")
        worker_urls = self._start_workers()
        self._start_api(worker_urls)
        self._plan_lakehouse()

    def _start_workers(self) -> list[str]:
        if importlib.util.find_spec("rideshare.cli.worker") is None:
            self._set("worker", "missing", "`rideshare worker` is not installed: positions come from the simulation, no live surge")
            return []
        urls = []
        # The real-time workers split the partitions of their group; bronze reads every topic in a group of its own.
        roles = ["realtime"] * self.options.workers + (["bronze"] if self.options.workers else [])
        for index, role in enumerate(roles):
            port = self.options.worker_port + index
            name = f"worker-{index + 1}" if role == "realtime" else "worker-bronze"
            if port_open("127.0.0.1", port):
                self._set(name, "failed", f"port {port} is taken; pass --worker-port")
                continue
            command = rideshare_command("worker", "--role", role, "--web-port", str(port))
            child = ChildProcess(name, command, self.log_dir / f"{name}.log").start()
            self.components[name] = Component(name, "starting", f"web http://127.0.0.1:{port}/", child)
            try:
                with console.status(f"starting Faust {name} (web port {port}) ..."):
                    child.wait_for_port("127.0.0.1", port, timeout_s=90)
            except RideshareError as exc:
                self._set(name, "failed", str(exc).splitlines()[0])
                continue
            self._set(name, "up", f"http://127.0.0.1:{port}/topology/")
            urls.append(f"http://127.0.0.1:{port}")
        return urls

    def _start_api(self, worker_urls: list[str]) -> None:
        o = self.options
        if port_open(self.s.api_host, o.api_port):
            raise RideshareError(f"port {o.api_port} is taken (another `rideshare api` or demo?); stop it or pass --api-port")
        command = rideshare_command(
            "api", "--port", str(o.api_port), "--drivers", str(o.drivers), "--riders", str(o.riders),
            "--speed", str(o.speed), "--seed", str(o.seed), "--start", o.start, "--autostart",
            "--positions", "redis" if worker_urls else "simulation",
            *[arg for url in worker_urls for arg in ("--worker-url", url)],
        )
        child = ChildProcess("simulation + API", command, self.log_dir / "api.log").start()
        self.components["api"] = Component("simulation + API", "starting", "", child)
        with console.status(f"building the world and starting the API on port {o.api_port} ..."):
            child.wait_for_port(self.s.api_host, o.api_port, timeout_s=120)
        ui = "" if (PROJECT_ROOT / "frontend" / "dist" / "index.html").is_file() else " (UI not built: `make setup-frontend`)"
        self._set("api", "up", f"http://{self.s.api_host}:{o.api_port}/{ui}")

    def _plan_lakehouse(self) -> None:
        if importlib.util.find_spec("rideshare.cli.lakehouse") is None:
            self._set("lakehouse", "missing", "`rideshare lakehouse` is not installed: no periodic silver/gold build")
            return
        self.lakehouse_next_at = time.monotonic() + self.options.lakehouse_every_s
        self._set("lakehouse", "idle", "")

    # -- run ---------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Once a second: notice dead children, run the lakehouse build when due."""
        for key, component in self.components.items():
            child = component.process
            if key != "lakehouse" and child is not None and component.state == "up" and not child.running():
                component.state, component.detail = "failed", f"exited with code {child.returncode}; see {child.log_file}"
        lakehouse = self.components.get("lakehouse")
        if lakehouse is not None and lakehouse.state != "missing":
            self._tick_lakehouse(lakehouse)

    def _tick_lakehouse(self, lakehouse: Component) -> None:
        build = lakehouse.process
        if build is not None and build.running():
            return
        if build is not None:  # a build just ended
            code = build.returncode
            outcome = "ok" if code == 0 else f"failed (code {code}), see {build.log_file}"
            self.lakehouse_last = f"build #{self.lakehouse_builds} {outcome}"
            lakehouse.state, lakehouse.process = ("idle" if code == 0 else "failed"), None
            self.lakehouse_next_at = time.monotonic() + self.options.lakehouse_every_s
        if time.monotonic() >= self.lakehouse_next_at:
            self.lakehouse_builds += 1
            command = rideshare_command("lakehouse", "build")
            lakehouse.process = ChildProcess("lakehouse build", command, self.log_dir / "lakehouse.log").start()
            lakehouse.state, lakehouse.detail = "up", f"build #{self.lakehouse_builds} running (bronze -> silver -> gold)"
            return
        next_in = f"next build in {self.lakehouse_next_at - time.monotonic():.0f} s"
        lakehouse.detail = f"{self.lakehouse_last}; {next_in}" if self.lakehouse_last else next_in

    def stop(self) -> None:
        # The producers first (the lakehouse build, then the simulation flushing its last events), then every
        # worker at once: each leaves its group on TERM and is killed 30 s later if its shutdown hangs.
        for stage in (["lakehouse"], ["api"], sorted(k for k in self.components if k.startswith("worker-"))):
            stopping = [(component, component.process) for key in stage
                        if (component := self.components.get(key)) is not None and component.process is not None]
            if not stopping:
                continue
            with console.status(f"stopping {', '.join(component.name for component, _ in stopping)} ..."):
                codes = stop_together([process for _, process in stopping], timeout_s=30)
            for (component, _), code in zip(stopping, codes, strict=True):
                component.state, component.detail = "stopped", f"exit code {code}"
        for service in reversed(self.started_services):
            with console.status(f"stopping {service.__class__.__name__.removesuffix('Service')} ..."):
                service.stop()

    # -- view --------------------------------------------------------------------------------------
    def _set(self, key: str, state: str, detail: str) -> None:
        component = self.components.setdefault(key, Component(key))
        component.state, component.detail = state, detail

    def render(self, sim: dict[str, Any] | None, started_at: float) -> Group:
        table = Table("component", "state", "detail", title=f"Rideshare Streams demo - up {time.monotonic() - started_at:,.0f} s",
                      title_justify="left", expand=True)
        live_workers = {worker["url"]: worker for worker in (sim or {}).get("workers", []) if worker.get("ok")}
        for component in self.components.values():
            style = STYLE.get(component.state, "white")
            detail = component.detail
            url = detail.removesuffix("/topology/")
            if component.state == "up" and url in live_workers:
                detail = f"{detail}  {worker_summary(live_workers[url]['topology'])}"
            table.add_row(component.name, f"[{style}]{component.state}[/]", detail)
        return Group(table, Panel(_sim_line(sim), title="simulation"), "[dim]Ctrl-C stops everything this command started.[/]")


def worker_summary(topology: dict[str, Any]) -> str:
    """One line for a worker's /topology/ JSON: events read (by the operators right after each source), the
    consumer lag per source topic (counted once per topic), and errors."""
    graphs = topology.get("topologies", [])
    nodes = {node["id"]: node for graph in graphs for node in graph.get("nodes", [])}
    sources = {node_id for node_id, node in nodes.items() if node.get("kind") == "source"}
    readers = {dst for graph in graphs for src, dst in graph.get("edges", []) if src in sources and dst in nodes}
    events_in = sum(int(nodes[node_id].get("events_in", 0)) for node_id in readers)
    lag_by_topic = {nodes[s].get("target", s): int(nodes[s].get("lag", {}).get("total", 0)) for s in sources}
    errors = sum(int(node.get("errors", 0)) for node in nodes.values())
    return f"{events_in:,} events read · lag {sum(lag_by_topic.values()):,}" + (f" · [red]{errors:,} errors[/]" if errors else "")


def _sim_line(sim: dict[str, Any] | None) -> str:
    if not sim:
        return "[yellow]no answer from the API yet[/]"
    status, overview, clients = sim.get("status", {}), sim.get("overview", {}), sim.get("clients", {})
    parts = [f"state [bold]{status.get('state', '?')}[/]"]
    if isinstance(status.get("sim_time_ms"), int):
        parts.append(f"sim time {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(status['sim_time_ms'] / 1000))} UTC")
    if "speed" in status:
        parts.append(f"speed {speed_label(status['speed'])} (achieved {status.get('speed_achieved', 0):,.1f}×)")
    lag, broker = status.get("lag") or {}, status.get("broker") or {}
    if lag.get("records") is not None:
        parts.append(f"workers' lag {lag['records']:,}" + (f" ({lag['seconds']:,.1f} s)" if lag.get("seconds") is not None else ""))
    if broker.get("available") is False:
        parts.append(f"[red]broker unavailable: simulation waiting, {broker.get('queued', 0):,} queued[/]")
    for label, key in (("events", "events_emitted"), ("drivers", "drivers"), ("riders", "riders")):
        value = status.get(key)
        if isinstance(value, int):
            parts.append(f"{label} {value:,}")
    parts += [f"{key.replace('_', ' ')} {value:,}" for key, value in overview.items() if isinstance(value, int)][:6]
    parts.append(f"WebSocket clients {len(clients.get('clients', []))}")
    return "   ".join(parts)


def _poll_api(client: httpx.Client) -> dict[str, Any] | None:
    try:
        topology = client.get("/api/topology")
        return {
            "status": client.get("/api/sim/status").json(),
            "overview": client.get("/api/metrics/overview").json(),
            "clients": client.get("/api/live/clients").json(),
            "workers": topology.json().get("workers", []) if topology.status_code == 200 else [],
        }
    except (httpx.HTTPError, ValueError):
        return None


@contextlib.contextmanager
def _stop_signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT stop the demo as Ctrl-C does. SIGINT too, because a demo started in the background
    by a script inherits SIGINT ignored (the shell's rule for background jobs), and then `kill -INT` did
    nothing while the demo ran on until --duration; its children run in sessions of their own anyway."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, disposition in previous.items():
            signal.signal(signum, disposition)


def demo(
    duration: float | None = typer.Option(None, "--duration", min=1, help="Stop after this many seconds (default: until Ctrl-C)."),
    drivers: DriversOption = DEFAULTS.drivers,
    riders: RidersOption = DEFAULTS.riders,
    speed: SpeedOption = SPEED_AUTO,
    seed: SeedOption = DEFAULTS.seed,
    start: str = typer.Option(DEMO_START, help="Simulated start (ISO-8601): the default is just before the "
                              "morning peak, so the map is busy from the first minute."),
    workers: int = typer.Option(default_processes(), min=0, max=12,
                                help="Real-time Faust workers (they share the topics' partitions; one per two cores by default). "
                                     "A bronze worker runs beside them; 0 runs none."),
    worker_port: int | None = typer.Option(None, help="Web port of the first worker (default: RIDESHARE_WORKER_WEB_PORT); next ones +1."),
    api_port: int | None = typer.Option(None, help="API/UI port (default: RIDESHARE_API_PORT)."),
    lakehouse_every: float = typer.Option(300.0, min=30, help="Seconds between lakehouse builds (bronze -> silver -> gold)."),
) -> None:
    """Run the whole platform: Kafka + Redis, topics, Faust worker(s), the simulation with API and UI, lakehouse builds.

    Prints the URLs and a live status table. Ctrl-C (or --duration) stops everything it started and exits 0.
    Logs of the child processes go to .local/demo/. The default speed `auto` runs the simulation as fast as the
    workers keep up (their backlog stays within about two seconds).
    """
    with user_errors():
        s = settings()
        pace = speed_option(speed)
        if pace == SPEED_AUTO and workers == 0:
            console.print(f"[yellow]no worker to pace by: speed {NO_WORKER_SPEED:g}× instead of auto[/]")
            pace = NO_WORKER_SPEED
        options = DemoOptions(drivers, riders, pace, seed, start, duration, workers, lakehouse_every,
                              api_port or s.api_port, worker_port or s.worker_web_port)
        run_demo(s, options)


def run_demo(s: Settings, options: DemoOptions) -> None:
    app = Demo(s, options, s.local_dir / "demo")
    started_at = time.monotonic()
    with _stop_signals_as_interrupt():
        try:
            app.start()
            _print_urls(s, options, app)
            admin_key = s.api_admin_keys[0].get_secret_value() if s.api_admin_keys else ""
            base_url = f"http://{s.api_host}:{options.api_port}"
            with httpx.Client(base_url=base_url, headers={"X-API-Key": admin_key}, timeout=2.0) as client, \
                    Live(app.render(None, started_at), console=console, refresh_per_second=2) as live:
                while options.duration_s is None or time.monotonic() - started_at < options.duration_s:
                    app.tick()
                    live.update(app.render(_poll_api(client), started_at))
                    time.sleep(1.0)
        except KeyboardInterrupt:
            console.print("[yellow]stopping ...[/]")
        finally:
            # A second Ctrl-C must not abandon children half-stopped: stop them all, then restore the handler.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                app.stop()
            finally:
                signal.signal(signal.SIGINT, previous)
    console.print()
    for component in app.components.values():
        if component.process is not None or component.state == "stopped":
            console.print(f"  {component.name}: {component.state} ({component.detail})")
    console.print(f"[green]✓[/] demo stopped after {time.monotonic() - started_at:,.0f} s; logs in {app.log_dir}")


def _print_urls(s: Settings, options: DemoOptions, app: Demo) -> None:
    base = f"http://{s.api_host}:{options.api_port}"
    lines = [f"UI         {base}/   (log in with an admin or viewer key, see the README)", f"API docs   {base}/docs",
             f"Metrics    {base}/metrics"]
    lines += [f"Faust      {c.detail}" for key, c in app.components.items() if key.startswith("worker-") and c.state == "up"]
    lines.append("Topic tail .venv/bin/rideshare topics tail trips")
    console.print(Panel("\n".join(lines), title="Rideshare Streams is running"))
