"""One way to build a simulation from settings: `sim run`, `api` and `demo` share the world defaults and the
wiring (OSRM from RIDESHARE_OSRM_URL, the surge source by mode, with Kafka the real-time group's lag)."""

from __future__ import annotations

import inspect

import pytest

from agents_sim.exceptions import ConfigError
from agents_sim.lag import KafkaLagProbe
from agents_sim.report.tee import KpiTee
from agents_sim.sinks import KafkaSink, NullSink
from agents_sim.surge import KafkaSurge, StaticSurge
from agents_sim.world.router import GridRouter, OsrmRouter
from core.settings import load_settings
from rideshare.cli.api import serve
from rideshare.cli.demo import demo
from rideshare.cli.sim import run
from rideshare.simulations import WorldOptions, build_runtime
from rideshare.surge_loop import InProcessSurge, SurgeTap

WORLD = WorldOptions(drivers=3, riders=5)


def test_every_entry_point_has_the_same_world_defaults() -> None:
    defaults = WorldOptions()
    for command in (run, serve, demo):
        parameters = inspect.signature(command).parameters
        for name in ("seed", "drivers", "riders"):
            assert parameters[name].default == getattr(defaults, name), (command.__name__, name)
    assert inspect.signature(run).parameters["start"].default == inspect.signature(serve).parameters["start"].default == defaults.start


def test_the_router_follows_the_osrm_setting() -> None:
    grid = build_runtime(load_settings(osrm_url=None), WORLD, NullSink(), speed="max")
    osrm = build_runtime(load_settings(osrm_url="http://127.0.0.1:5000"), WORLD, NullSink(), speed="max")
    assert isinstance(grid.sim.city.router, GridRouter) and isinstance(osrm.sim.city.router, OsrmRouter)


def test_kafka_runs_read_surge_and_pace_by_the_real_time_group() -> None:
    from streams.app import app_id_for

    settings = load_settings(topic_namespace="builder.")
    runtime = build_runtime(settings, WORLD, KafkaSink(settings), speed="auto")  # clients connect lazily: no broker needed here
    try:
        assert isinstance(runtime.sim.surge, KafkaSurge)
        assert isinstance(runtime._lag_probe, KafkaLagProbe) and runtime._lag_probe.group_id == app_id_for(settings)
        assert runtime.status()["speed"] == "auto" and runtime.status()["lag"]["group_id"] == "builder.rideshare-streams"
    finally:
        runtime.sim.surge.close()
    file_run = build_runtime(settings, WORLD, NullSink(), speed="max")
    assert isinstance(file_run.sim.surge, StaticSurge) and file_run.status()["lag"] is None


def test_sim_run_surge_modes_close_the_loop_in_process_for_files_and_refuse_what_a_sink_cannot_do() -> None:
    settings = load_settings()
    tee = KpiTee(NullSink())
    file_run = build_runtime(settings, WORLD, tee.sink, speed="max", wrap_sink=lambda _: tee, surge_mode="auto")
    assert isinstance(file_run.sim.surge, InProcessSurge)
    assert isinstance(file_run.sink, SurgeTap) and file_run.sink.sink is tee  # events reach the engine, then the tee
    assert isinstance(build_runtime(settings, WORLD, NullSink(), speed="max", surge_mode="off").sim.surge, StaticSurge)
    for mode in ("lockstep", "live"):
        with pytest.raises(ConfigError, match="needs --sink kafka"):
            build_runtime(settings, WORLD, NullSink(), speed="max", surge_mode=mode)
    with pytest.raises(ConfigError, match="computes surge in this process"):
        build_runtime(settings, WORLD, KafkaSink(settings), speed="max", surge_mode="in-process")
    with pytest.raises(ConfigError, match="is not one of"):
        build_runtime(settings, WORLD, NullSink(), speed="max", surge_mode="sometimes")
