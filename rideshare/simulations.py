"""The composition root of a simulation run, as rideshare/workers.py is the streams worker's: every entry
point that runs the simulation (`rideshare sim run`, `rideshare api` and so `rideshare demo`) builds it
here, from the settings and one set of world options, so they share defaults and wiring:

- the sink (`kafka`, `jsonl:PATH`, `null`);
- the surge source (`surge_mode`): with Kafka the lockstep closed loop with the surge topology
  (`sim run`'s default, replayable) or the surge topic applied as it arrives (`live`: the control
  API and the demo); without Kafka the surge topology's engine in this process or none;
- with Kafka: the lag probe of the real-time workers' consumer group (`streams.app.app_id_for(settings)`,
  which `--speed auto` paces by);
- the router: OSRM when `RIDESHARE_OSRM_URL` is set, the built-in street grid otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agents_sim.exceptions import ConfigError
from agents_sim.params import DEFAULT_START, SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import JsonlSink, KafkaSink, NullSink, Sink
from agents_sim.surge import DEFAULT_STEP_TIMEOUT_S, KafkaSurge, LockstepSurge, StaticSurge, SurgeSource
from core.settings import Settings
from schemas.limits import Speed, parse_speed

__all__ = ["SINK_HELP", "SURGE_HELP", "SURGE_MODES", "WorldOptions", "build_runtime", "build_sink", "build_surge", "speed_option"]

SINK_HELP = "kafka (catalog topics), jsonl:PATH (one JSON object per line) or null"
SURGE_MODES = ("auto", "lockstep", "live", "in-process", "off")
SURGE_HELP = ("lockstep (Kafka closed loop in surge steps of event time, replays byte for byte; needs a worker with the "
              "surge topology), live (surge topic applied as it arrives in wall time: the demo), in-process (the surge "
              "topology's engine in this process: file and null sinks), off (1.0 everywhere); auto = lockstep with kafka, "
              "in-process otherwise")


@dataclass(frozen=True)
class WorldOptions:
    """What a user chooses about the simulated world on the command line (the same defaults everywhere)."""

    seed: int = 42
    drivers: int = 400
    riders: int = 6_000
    start: str = DEFAULT_START

    def config(self) -> SimConfig:
        return SimConfig(seed=self.seed, drivers=self.drivers, riders=self.riders, start=self.start)


def speed_option(value: str) -> Speed:
    """`--speed` of every command, by the limits contract (a ConfigError names what is allowed)."""
    try:
        return parse_speed(value)
    except ValueError as exc:
        raise ConfigError(f"--speed: {exc}") from None


def build_sink(settings: Settings, spec: str) -> Sink:
    """`kafka`, `jsonl:PATH` or `null`."""
    if spec == "kafka":
        return KafkaSink(settings)
    if spec == "null":
        return NullSink()
    if spec.startswith("jsonl:") and len(spec) > len("jsonl:"):
        return JsonlSink(spec[len("jsonl:"):])
    raise ConfigError(f"--sink {spec!r} is not one of: {SINK_HELP}")


def build_surge(mode: str, sink: Sink, event_sink: Sink, settings: Settings, *,
                timeout_s: float = DEFAULT_STEP_TIMEOUT_S) -> tuple[SurgeSource, Sink]:
    """The surge source of a run (one of `SURGE_MODES`) and the sink the simulation emits to (the in-process
    loop taps `event_sink`). `sink` is the real sink underneath: Kafka or not decides what a mode can do."""
    kafka = isinstance(sink, KafkaSink)
    if mode == "auto":
        mode = "lockstep" if kafka else "in-process"
    if mode in ("lockstep", "live") and not kafka:
        raise ConfigError(f"--surge {mode} reads the surge topic: it needs --sink kafka (files use --surge in-process or off)")
    if mode == "lockstep":
        assert isinstance(sink, KafkaSink)
        return LockstepSurge(settings, sink.producer, timeout_s=timeout_s), event_sink
    if mode == "live":
        return KafkaSurge(settings), event_sink
    if mode == "in-process":
        if kafka:
            raise ConfigError("--surge in-process computes surge in this process: with --sink kafka surge comes from the "
                              "surge topology (--surge lockstep, the default, or live)")
        from rideshare.surge_loop import InProcessSurge, surge_config  # the topologies' engine: imported when used

        loop = InProcessSurge(surge_config(settings))
        return loop, loop.tap(event_sink)
    if mode == "off":
        return StaticSurge(), event_sink
    raise ConfigError(f"--surge {mode!r} is not one of: {', '.join(SURGE_MODES)}")


def build_runtime(settings: Settings, world: WorldOptions, sink: Sink, *, speed: Speed, end_ms: int | None = None,
                  wrap_sink: Callable[[Sink], Sink] | None = None, surge_mode: str | None = None,
                  surge_timeout_s: float = DEFAULT_STEP_TIMEOUT_S) -> SimulationRuntime:
    """The runtime of one run. `wrap_sink` puts something in front of the sink (the CLI's KPI tee); the wiring
    (surge, lag) follows the sink underneath. `surge_mode` is one of `SURGE_MODES` (`sim run --surge`); None
    is the control API's wiring: the surge topic as it arrives with Kafka (a run it can reset and restore),
    none otherwise."""
    lag_probe = None
    if isinstance(sink, KafkaSink):
        from agents_sim.lag import KafkaLagProbe
        from streams.app import app_id_for

        lag_probe = KafkaLagProbe(settings, app_id_for(settings))
    event_sink = wrap_sink(sink) if wrap_sink is not None else sink
    mode = surge_mode or ("live" if isinstance(sink, KafkaSink) else "off")
    surge, event_sink = build_surge(mode, sink, event_sink, settings, timeout_s=surge_timeout_s)
    return SimulationRuntime(world.config(), event_sink, surge=surge, speed=speed, end_ms=end_ms, osrm_url=settings.osrm_url,
                             lag_probe=lag_probe)
