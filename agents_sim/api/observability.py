"""Prometheus metrics of the API process: HTTP requests, WebSocket clients and frames, simulation gauges.

Each app has its own CollectorRegistry (no process-global state, so tests can build many apps).
Simulation and WebSocket values are read at scrape time by a collector, not pushed on the hot path.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from agents_sim.api.live.hub import LiveHub
from agents_sim.api.runtime_port import SimulationControl

__all__ = ["ApiMetrics", "RedactApiKeys", "install_key_redaction"]

log = logging.getLogger(__name__)

# Label values come from a closed set (any other method is counted as OTHER), so a client cannot grow the registry.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _LiveCollector(Collector):
    def __init__(self, hub: LiveHub, runtime: SimulationControl) -> None:
        self.hub = hub
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        clients = self.hub.client_stats()
        yield GaugeMetricFamily("rideshare_ws_clients", "Connected WebSocket clients.", value=len(clients))
        yield CounterMetricFamily("rideshare_ws_frames_built", "Delta frames cut by the hub.", value=self.hub.tick)
        yield GaugeMetricFamily(
            "rideshare_ws_pending_objects_max", "Largest per-client pending delta (objects): backpressure.",
            value=max((c["pending_objects"] for c in clients), default=0),
        )
        try:
            status = self.runtime.status()
        except Exception:  # a scrape must answer even if the simulation is mid-reset
            log.exception("reading the simulation status for /metrics failed")
            return
        for name, help_text in (
            ("sim_time_ms", "Simulated time (ms since the epoch)."),
            ("events_emitted", "Events the simulation emitted."),
            ("speed_achieved", "Simulated seconds per wall-clock second, measured."),
            ("drivers", "Drivers in the simulation."),
            ("riders", "Riders in the simulation."),
        ):
            value = status.get(name)
            if isinstance(value, int | float):
                yield GaugeMetricFamily(f"rideshare_sim_{name}", help_text, value=float(value))
        state = GaugeMetricFamily("rideshare_sim_state", "1 for the current lifecycle state.", labels=["state"])
        state.add_metric([str(status.get("state", "unknown"))], 1.0)
        yield state


class ApiMetrics:
    def __init__(self, hub: LiveHub, runtime: SimulationControl) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rideshare_api_requests", "HTTP requests by route template and status.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "rideshare_api_request_seconds", "HTTP request latency by route template.", ["route"], registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.registry.register(_LiveCollector(hub, runtime))

    async def middleware(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The route template, not the raw path, keeps label cardinality bounded (ids are not labels).
        route = getattr(request.scope.get("route"), "path", "unmatched")
        method = request.method if request.method in HTTP_METHODS else "OTHER"
        self.requests.labels(method, route, str(response.status_code)).inc()
        self.latency.labels(route).observe(time.perf_counter() - started)
        return response


_KEY_IN_QUERY = re.compile(r"(?i)(\bkey=)[^&\s\"']+")
REDACTED = "***"


class RedactApiKeys(logging.Filter):
    """Blanks `key=...` query values in log records: uvicorn logs `WebSocket /ws?key=<key>` otherwise."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _KEY_IN_QUERY.sub(rf"\g<1>{REDACTED}", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_KEY_IN_QUERY.sub(rf"\g<1>{REDACTED}", arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def install_key_redaction(logger_names: tuple[str, ...] = ("uvicorn.error", "uvicorn.access")) -> None:
    """Attach the redaction filter to the server's loggers (call after uvicorn configured logging)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactApiKeys) for existing in logger.filters):
            logger.addFilter(RedactApiKeys())
