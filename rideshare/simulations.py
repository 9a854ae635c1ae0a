"""The composition root of a simulation run, as rideshare/workers.py is the streams worker's: every entry
point that runs the simulation (`rideshare sim run`, `rideshare api` and so `rideshare demo`) builds it
here, from the settings and one set of world options, so they share defaults and wiring:

- the sink (`kafka`, `jsonl:PATH`, `null`);
- with Kafka: the surge source (the surge topic) and the lag probe of the real-time workers' consumer
  group (`streams.app.app_id_for(settings)`, which `--speed auto` paces by);
- the router: OSRM when `RIDESHARE_OSRM_URL` is set, the built-in street grid otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agents_sim.exceptions import ConfigError
from agents_sim.params import DEFAULT_START, SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import JsonlSink, KafkaSink, NullSink, Sink
from core.settings import Settings
from schemas.limits import Speed, parse_speed

__all__ = ["SINK_HELP", "WorldOptions", "build_runtime", "build_sink", "speed_option"]

SINK_HELP = "kafka (catalog topics), jsonl:PATH (one JSON object per line) or null"


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


def build_runtime(settings: Settings, world: WorldOptions, sink: Sink, *, speed: Speed, end_ms: int | None = None,
                  wrap_sink: Callable[[Sink], Sink] | None = None) -> SimulationRuntime:
    """The runtime of one run. `wrap_sink` puts something in front of the sink (the CLI's KPI tee); the wiring
    (surge, lag) follows the sink underneath."""
    surge, lag_probe = None, None
    if isinstance(sink, KafkaSink):
        from agents_sim.lag import KafkaLagProbe
        from agents_sim.surge import KafkaSurge
        from streams.app import app_id_for

        surge = KafkaSurge(settings)
        lag_probe = KafkaLagProbe(settings, app_id_for(settings))
    event_sink = wrap_sink(sink) if wrap_sink is not None else sink
    return SimulationRuntime(world.config(), event_sink, surge=surge, speed=speed, end_ms=end_ms, osrm_url=settings.osrm_url,
                             lag_probe=lag_probe)
