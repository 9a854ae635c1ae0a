"""A sink that folds every event into a KPI accumulator while passing it on: the end-of-run KPI table of
`sim run`, benchmarks and tests get the report without writing or re-reading the events."""

from __future__ import annotations

from typing import Any, Protocol

from agents_sim.report.fold import KpiAccumulator

__all__ = ["KpiTee"]


class _Sink(Protocol):  # agents_sim.sinks.Sink; the report never imports the simulation
    backpressure: Any

    def emit(self, schema_name: str, record: dict[str, Any]) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class KpiTee:
    def __init__(self, sink: _Sink | None = None) -> None:
        self.sink = sink
        self.backpressure = sink.backpressure if sink is not None else None  # the runtime waits on the real sink's queue
        self.accumulator = KpiAccumulator()
        self._add = self.accumulator.add

    def emit(self, schema_name: str, record: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink.emit(schema_name, record)
        self._add(schema_name, record)

    def flush(self) -> None:
        if self.sink is not None:
            self.sink.flush()

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
