"""The closed surge loop in one process: the simulation and the surge topology's pure engine.

The simulation never computes surge; this composition (roof floor: it may import both apps) feeds
every event the simulation emits through the surge topology's own signal functions into its
`SurgeEngine` and closes each step at the boundary, exactly where the Kafka lockstep loop waits for
the topology. So the multipliers are the ones a worker computes from the same events, without a
broker: what the calibration benchmark, the golden backtest and file runs use.

    loop = InProcessSurge(SurgeConfig(), zone_lookup())
    sim = Simulation(config, loop.tap(sink), surge=loop)     # then run it through SimulationRuntime

`complete_step` also writes the step's surge_update records to the sink, as the topology writes them
to the surge topic, so a file run holds the same event log as the Kafka topics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents_sim.sinks import Sink
from core.settings import Settings
from topologies.surge import PingSupply, SurgeConfig, SurgeEngine, demand_signal, status_signal, zone_lookup

__all__ = ["InProcessSurge", "SurgeTap", "surge_config"]


def surge_config(settings: Settings) -> SurgeConfig:
    """The surge topology's configuration as a worker with these settings builds it."""
    return SurgeConfig(window_ms=settings.surge_window_ms, step_ms=settings.surge_step_ms,
                       allowed_lateness_ms=settings.surge_allowed_lateness_ms)


class SurgeTap:
    """A sink that passes every event on and shows it to the in-process surge loop."""

    def __init__(self, sink: Sink, loop: InProcessSurge) -> None:
        self.sink = sink
        self.backpressure = sink.backpressure
        self._observe = loop.observe

    def emit(self, schema_name: str, record: dict[str, Any]) -> None:
        self.sink.emit(schema_name, record)
        self._observe(schema_name, record)

    def flush(self) -> None:
        self.sink.flush()

    def close(self) -> None:
        self.sink.close()


class InProcessSurge:
    """A lockstep `SurgeSource` (agents_sim.surge) backed by the surge topology's engine."""

    mode = "in-process"

    def __init__(self, config: SurgeConfig | None = None,
                 lookup: tuple[Callable[[float, float], str | None], Callable[[str], float]] | None = None) -> None:
        self.config = config or SurgeConfig()
        self.step_ms: int | None = self.config.step_ms
        zone_of, sensitivity_of = lookup or zone_lookup()
        self.engine = SurgeEngine(self.config, sensitivity_of)
        self._pings = PingSupply(self.config, zone_of)
        self._multipliers: dict[str, float] = {}
        self._out: Sink | None = None
        self.applied = 0
        self.steps = 0
        self.waited_s = 0.0

    def tap(self, sink: Sink) -> SurgeTap:
        """Wrap the run's sink: events reach the sink and the engine; surge updates go to the sink."""
        self._out = sink
        return SurgeTap(sink, self)

    def observe(self, schema_name: str, record: dict[str, Any]) -> None:
        """The topology's signal derivation (demand, driver status, GPS supply) of one event."""
        if schema_name == "gps_ping":
            signal = self._pings.signal(record)
        elif schema_name == "trip_event":
            signal = demand_signal(record)
        elif schema_name == "driver_status":
            signal = status_signal(record)
        else:
            return
        if signal is not None:
            self.engine.add(signal)

    def begin(self, session_id: str, start_ms: int) -> None:
        return None  # one process: the engine sees every event of the run in order

    def complete_step(self, session_id: str, step_end_ms: int) -> float:
        updates, _ = self.engine.close(step_end_ms, session_id)
        for update in updates:
            self._multipliers[update["zone_id"]] = max(1.0, float(update["surge_multiplier"]))
            if self._out is not None:
                self._out.emit("surge_update", update)
        self.applied += len(updates)
        self.steps += 1
        return 0.0

    def multiplier(self, zone_id: str) -> float:
        return self._multipliers.get(zone_id, 1.0)

    def poll(self) -> int:
        return 0

    def snapshot(self) -> dict[str, float]:
        return dict(self._multipliers)

    def close(self) -> None:
        return None
