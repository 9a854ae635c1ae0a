"""`rideshare sim`: run the São Paulo simulation (`run`), show its zone model (`describe`) and the KPI
report of a run (`report`, from rideshare/cli/sim_report.py)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from agents_sim.exceptions import ConfigError
from agents_sim.params import SimConfig
from agents_sim.report.tee import KpiTee
from agents_sim.surge import DEFAULT_STEP_TIMEOUT_S, LockstepSurge
from rideshare.cli import sim_report
from rideshare.cli.common import console, settings, user_errors
from rideshare.cli.world_options import DEFAULTS, DriversOption, RidersOption, SeedOption, SpeedOption, StartOption
from rideshare.simulations import SINK_HELP, SURGE_HELP, WorldOptions, build_runtime, build_sink, speed_option
from schemas.limits import SPEED_MAX

app = typer.Typer(help="The SimPy São Paulo ride-hailing simulation.", no_args_is_help=True)
app.command("report")(sim_report.report)


def _fmt_ms(t_ms: int) -> str:
    return time.strftime("%a %Y-%m-%d %H:%M:%S", time.gmtime((t_ms - 3 * 3_600_000) / 1000)) + " (SP)"


def _progress_table(status: dict[str, Any], trips: dict[str, int], started: float, start_ms: int, end_ms: int) -> Table:
    wall = max(time.monotonic() - started, 1e-6)
    done = (status["sim_time_ms"] - start_ms) / max(end_ms - start_ms, 1)
    table = Table.grid(padding=(0, 2))
    table.add_row("sim time", _fmt_ms(status["sim_time_ms"]), f"{done:5.1%} of the run")
    table.add_row("speed achieved", f"{status['speed_achieved']:,.1f}× real time", f"wall {wall:,.1f} s")
    lag, broker = status.get("lag"), status.get("broker")
    if lag and lag["records"] is not None:
        behind = f"{lag['seconds']:,.1f} s behind" if lag["seconds"] is not None else ""
        table.add_row("workers' lag", f"{lag['records']:,} records", behind)
    if broker and broker["available"] is False:
        table.add_row("[red]broker[/]", "[red]unavailable: waiting[/]", f"{broker['queued']:,} events queued")
    table.add_row("events", f"{status['events_emitted']:,}", f"{status['events_emitted'] / wall:,.0f} events/s")
    table.add_row("trips by state", ", ".join(f"{k} {v}" for k, v in sorted(trips.items())) or "-", "")
    return table


@app.command()
def run(
    seed: SeedOption = DEFAULTS.seed,
    drivers: DriversOption = DEFAULTS.drivers,
    riders: RidersOption = DEFAULTS.riders,
    speed: SpeedOption = SPEED_MAX,
    duration: Annotated[float, typer.Option(min=1, help="Simulated seconds to run (86400 = one day).")] = 3600,
    start: StartOption = DEFAULTS.start,
    sink: Annotated[str, typer.Option(help=f"Where events go: {SINK_HELP}.")] = "jsonl:.local/sim/events.jsonl",
    kpis: Annotated[bool, typer.Option(help="Print the KPI report (calibration bands) at the end.")] = True,
    surge: Annotated[str, typer.Option(help=f"How surge reaches the simulation: {SURGE_HELP}.")] = "auto",
    surge_timeout: Annotated[float, typer.Option(
        min=1, help="Lockstep: seconds to wait for the surge topology's result of one step before failing.")]
    = DEFAULT_STEP_TIMEOUT_S,
) -> None:
    """Run the simulation and stream its events to Kafka, a jsonl file or nowhere.

    Examples:

      rideshare sim run --duration 86400 --sink jsonl:day.jsonl          # one weekday to a file (surge in-process)

      rideshare worker &  rideshare sim run --duration 86400 --sink kafka # a replayable weekday through Kafka (lockstep)

      rideshare sim run --speed 60 --sink kafka --surge live              # a live stream, 1 min per second

      rideshare sim run --speed auto --sink kafka --surge live            # as fast as the stream workers keep up
    """
    with user_errors():
        s = settings()
        world = WorldOptions(seed=seed, drivers=drivers, riders=riders, start=start)
        config = world.config()
        pace = speed_option(speed)
        real_sink = build_sink(s, sink)
        end_ms = config.start_ms + int(duration * 1000)
        with console.status("building the world (zones, agents' DNA, profiles)..."):
            try:
                runtime = build_runtime(s, world, real_sink, speed=pace, end_ms=end_ms, wrap_sink=KpiTee if kpis else None,
                                        surge_mode=surge, surge_timeout_s=surge_timeout)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        event_sink = runtime.sink
        # the KPI tee is the sink itself, or under the in-process surge loop's tap
        tee = next((inner for inner in (event_sink, getattr(event_sink, "sink", None)) if isinstance(inner, KpiTee)), None)
        started = time.monotonic()
        runtime.start()
        try:
            with Live(console=console, refresh_per_second=4, transient=True) as live:
                while not runtime.wait(0.25):
                    live.update(_progress_table(runtime.status(), runtime.trip_states(), started, config.start_ms, end_ms))
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: stopping and flushing the sink...[/]")
        finally:
            runtime.stop()
            event_sink.close()
        if runtime.error is not None:
            raise ConfigError(f"the simulation failed: {runtime.error!r}")
        wall = time.monotonic() - started
        console.print(_summary(runtime, wall, sink))
        if tee is not None:
            from agents_sim.report import report_of
            from agents_sim.report.render import kpi_table

            console.print(kpi_table(report_of(tee.accumulator)))


def _summary(runtime: Any, wall_s: float, sink_spec: str) -> Table:
    sim = runtime.sim
    overview = sim.stats.overview()
    sim_s = (sim.now - sim.config.start_ms) / 1000
    table = Table(title=f"Simulation {sim.session_id}: {sim_s:,.0f} simulated s in {wall_s:,.1f} s wall", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("sink", sink_spec)
    surge = sim.surge
    table.add_row("surge", surge.mode + (f" (steps of {surge.step_ms / 1000:g} s event time)" if surge.step_ms else ""))
    if isinstance(surge, LockstepSurge):
        per_step = runtime.surge_wait_s / surge.steps * 1000 if surge.steps else 0.0
        table.add_row("waited on the surge loop", f"{runtime.surge_wait_s:,.1f} s over {surge.steps:,} steps ({per_step:,.0f} ms/step)")
    applied = getattr(surge, "applied", None)  # closed loops count the surge updates they applied
    if applied is not None:
        table.add_row("surge updates applied", f"{applied:,}")
    table.add_row("speed (sim s / wall s)", f"{sim_s / max(wall_s, 1e-9):,.0f}×")
    table.add_row("events", f"{sim.events.counter:,} ({sim.events.counter / max(wall_s, 1e-9):,.0f}/s)")
    for schema, count in sorted(sim.events.by_schema.items()):
        table.add_row(f"  {schema}", f"{count:,}")
    for key in ("requests", "completed", "cancelled_by_rider", "cancelled_by_driver", "no_drivers_available", "surge_refusals"):
        table.add_row(key.replace("_", " "), f"{overview[key]:,}")
    rate = overview["completion_rate"]
    table.add_row("completion rate", f"{rate:.1%}" if rate is not None else "-")
    for reason, count in overview["cancel_reasons"].items():  # type: ignore[union-attr]  # a dict by construction
        table.add_row(f"  cancelled {reason}", f"{count:,}")
    return table


@app.command()
def describe(top: Annotated[int, typer.Option(min=1, max=96, help="How many zones to list (by demand weight).")] = 96,
             drivers: Annotated[int, typer.Option(min=0, help="Fleet size whose service area is shown (as `sim run --drivers`).")] = 400,
             ) -> None:
    """Print the zone model: São Paulo's 96 districts with their derived demand weight and surge sensitivity,
    and the service area a run with `--drivers` drivers operates in (density-preserving scaling)."""
    from agents_sim.world.service_area import select_service_area
    from schemas.zones import zone_index

    config = SimConfig(drivers=min(drivers, SimConfig.max_drivers))
    area = select_service_area(zone_index(), config.service_area, config.drivers)
    zones = sorted(zone_index().zones, key=lambda z: -z.demand_weight)
    table = Table(title="Zones (districts of São Paulo; weights derived in schemas/zones.py)")
    for header in ("zone_id", "name", "subprefecture", "area km²", "demand weight", "surge sensitivity", "dense core", "service area"):
        table.add_column(header)
    for zone in zones[:top]:
        table.add_row(zone.zone_id, zone.name, zone.subprefecture, f"{zone.area_km2:.1f}", f"{zone.demand_weight:.2%}",
                      f"{zone.surge_sensitivity:.2f}", "yes" if zone.dense_core else "", "yes" if zone.zone_id in area else "")
    console.print(table)
    share = sum(z.demand_weight for z in zones if z.zone_id in area)
    console.print(f"Service area for {config.drivers:,} drivers — {area.describe()}, {share:.0%} of the city's demand weight "
                  "(agents_sim/world/service_area.py; requests, homes and repositioning stay inside, some destinations leave it).")


@app.command()
def backtest(update: Annotated[bool, typer.Option(help="Store this run's summary as the new golden one (after an intended change).")]
             = False) -> None:
    """Run the golden scenario (a seeded Monday morning of 120 drivers / 1,800 riders in a closed surge loop) and
    show which KPIs moved against the summary stored in tests/golden/backtest.json. Exit code 1 when something
    moved and --update was not given.

    Examples:

      rideshare sim backtest             # what did my change move?

      rideshare sim backtest --update    # the change is intended: store the new numbers
    """
    from rideshare.backtest import GOLDEN_PATH, compare, load_golden, run_scenario, write_golden

    with console.status("running the golden scenario..."):
        now = run_scenario()
    golden = load_golden() if GOLDEN_PATH.is_file() else None
    moved = compare(golden, now) if golden is not None else []
    table = Table(title=f"Golden backtest: {len(moved)} change(s) against {GOLDEN_PATH.name}" if golden else "Golden backtest")
    for header in ("what", "golden", "now"):
        table.add_column(header)
    for item in moved:
        table.add_row(item.name, str(item.golden), str(item.now))
    if golden is not None:
        console.print(table if moved else f"nothing moved: {now['events']:,} events, {now['in_band']} bands in band, "
                                          f"digest {now['events_sha256'][:16]} as stored")
    if update or golden is None:
        console.print(f"stored the summary in {write_golden(now)}")
    elif moved:
        raise typer.Exit(1)
