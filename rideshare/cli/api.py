"""`rideshare api`: the simulation, its control API, the live WebSocket and the map UI in one process."""

from __future__ import annotations

import logging
import signal
from enum import StrEnum
from types import FrameType
from typing import Annotated

import typer

from core.exceptions import RideshareError
from core.settings import Settings
from rideshare.cli.common import console, settings, user_errors

log = logging.getLogger(__name__)


class SinkChoice(StrEnum):
    KAFKA = "kafka"
    NULL = "null"


class PositionsChoice(StrEnum):
    REDIS = "redis"
    SIMULATION = "simulation"


def build_runtime(s: Settings, *, drivers: int, riders: int, seed: int, speed: float | None, sink: SinkChoice,
                  start: str | None = None):
    """The simulation runtime the API drives (imported here: loading the world takes a moment)."""
    from agents_sim.params import SimConfig
    from agents_sim.runtime import SimulationRuntime
    from agents_sim.sinks import KafkaSink, NullSink

    config = SimConfig(seed=seed, drivers=drivers, riders=riders, **({"start": start} if start else {}))
    event_sink = KafkaSink(s) if sink is SinkChoice.KAFKA else NullSink()
    return SimulationRuntime(config, event_sink, speed=speed)


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (default: RIDESHARE_API_HOST, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default: RIDESHARE_API_PORT, 8000)."),
    drivers: int = typer.Option(300, min=0, help="Drivers at start (more can be spawned through the API)."),
    riders: int = typer.Option(2_000, min=0, help="Riders at start."),
    speed: float = typer.Option(30.0, min=0, help="Simulated seconds per wall second (0.5-1000); 0 = as fast as possible."),
    seed: int = typer.Option(42, help="Seed of every random stream: same seed + same settings = same events."),
    start: str | None = typer.Option(
        None, help="Simulated start instant, ISO-8601 (e.g. 2026-03-02T07:30:00-03:00); default: the simulation's (06:00 São Paulo)."
    ),
    sink: Annotated[SinkChoice, typer.Option(help="Where events go: Kafka topics, or nowhere (UI-only runs).")] = SinkChoice.KAFKA,
    positions: Annotated[PositionsChoice, typer.Option(
        help="Where the map's positions come from: the GPS topology's Redis output (needs `rideshare worker`), "
        "or the simulation directly (no worker).",
    )] = PositionsChoice.REDIS,
    worker_url: Annotated[list[str] | None, typer.Option(
        "--worker-url", help="Faust worker web URL(s) for the topology panel (default: http://127.0.0.1:RIDESHARE_WORKER_WEB_PORT)."
    )] = None,
    autostart: bool = typer.Option(False, help="Start the simulation right away instead of waiting for POST /api/sim/start."),
    log_level: str = typer.Option("info", help="uvicorn / application log level."),
) -> None:
    """Serve the control API (docs at /docs), the WebSocket /ws and the map UI (/) with the simulation in-process.

    Keys: send an admin or viewer key (RIDESHARE_API_ADMIN_KEYS / RIDESHARE_API_VIEWER_KEYS) in the
    X-API-Key header, or as ?key= for the WebSocket and the UI. Stop with Ctrl-C: the simulation is
    stopped and its events flushed.
    """
    from agents_sim.api import create_app
    from agents_sim.api.server import server_for

    with user_errors():
        s = settings()
        host, port = host or s.api_host, port or s.api_port
        logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        with console.status(f"building the world: {drivers:,} drivers, {riders:,} riders ..."):
            try:
                runtime = build_runtime(s, drivers=drivers, riders=riders, seed=seed, speed=speed or None, sink=sink, start=start)
            except ValueError as exc:
                raise RideshareError(f"invalid simulation option: {exc}") from exc
        app = create_app(s, runtime, positions_source=positions.value, worker_urls=worker_url or None)
        server = server_for(app, host=host, port=port, log_level=log_level)
        if autostart:
            runtime.start()
        console.print(f"[green]✓[/] UI http://{host}:{port}/   API docs http://{host}:{port}/docs   WebSocket ws://{host}:{port}/ws")
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal with the previous handlers:
        # turn it into a normal exit so the simulation below is stopped and its events flushed.
        signal.signal(signal.SIGTERM, _exit_quietly)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            runtime.stop()
            console.print("simulation stopped, events flushed")


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
