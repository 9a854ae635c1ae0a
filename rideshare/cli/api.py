"""`rideshare api`: the simulation, its control API, the live WebSocket and the map UI in one process."""

from __future__ import annotations

import logging
import signal
from enum import StrEnum
from types import FrameType
from typing import Annotated

import typer

from core.exceptions import RideshareError
from rideshare.cli.common import console, settings, user_errors
from rideshare.cli.world_options import DEFAULTS, DriversOption, RidersOption, SeedOption, SpeedOption, StartOption
from rideshare.simulations import WorldOptions, build_runtime, build_sink, speed_option

log = logging.getLogger(__name__)


class SinkChoice(StrEnum):
    KAFKA = "kafka"
    NULL = "null"


class PositionsChoice(StrEnum):
    REDIS = "redis"
    SIMULATION = "simulation"


def serve(
    host: str | None = typer.Option(None, help="Interface to listen on (default: RIDESHARE_API_HOST, 127.0.0.1). Anything but "
                                    "loopback needs your own API keys (the development keys are refused there)."),
    port: int | None = typer.Option(None, help="Port (default: RIDESHARE_API_PORT, 8000)."),
    drivers: DriversOption = DEFAULTS.drivers,
    riders: RidersOption = DEFAULTS.riders,
    speed: SpeedOption = "30",
    seed: SeedOption = DEFAULTS.seed,
    start: StartOption = DEFAULTS.start,
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
    X-API-Key header, or as ?key= for the WebSocket and the UI. `--speed auto` paces the simulation by
    the stream workers' consumer lag (start `rideshare worker` too). Stop with Ctrl-C: the simulation is
    stopped and its events flushed.
    """
    from agents_sim.api import create_app
    from agents_sim.api.server import check_bind, server_for


    with user_errors():
        s = settings()
        host, port = host or s.api_host, port or s.api_port
        check_bind(s, host)  # before building the world: refuse at once
        pace = speed_option(speed)
        logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        world = WorldOptions(seed=seed, drivers=drivers, riders=riders, start=start)
        with console.status(f"building the world: {drivers:,} drivers, {riders:,} riders ..."):
            try:
                runtime = build_runtime(s, world, build_sink(s, sink.value), speed=pace)
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
