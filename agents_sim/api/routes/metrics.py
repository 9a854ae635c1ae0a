"""Reading the simulation's state and counters (any key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agents_sim.api.deps import Runtime, ViewerRole

router = APIRouter(prefix="/api", tags=["status"])

JsonObject = dict[str, Any]


@router.get("/sim/status", summary="Lifecycle state, simulated time, speed, counts")
def sim_status(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return runtime.status()


@router.get("/metrics", summary="Every metric section at once")
def all_metrics(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return runtime.metrics()


def _section(runtime: Runtime, name: str) -> Any:
    return runtime.metrics().get(name, {})


@router.get("/metrics/overview", summary="Headline counters: trips, revenue, events, agents")
def overview(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return _section(runtime, "overview")


@router.get("/metrics/zones", summary="Per-zone demand, supply and current surge multiplier")
def zones(_: ViewerRole, runtime: Runtime) -> Any:
    return _section(runtime, "zones")


@router.get("/metrics/trips", summary="Trips by state")
def trips_by_state(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return _section(runtime, "trips_by_state")


@router.get("/metrics/drivers", summary="Drivers by status")
def drivers_by_status(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return _section(runtime, "drivers_by_status")


@router.get("/metrics/riders", summary="Riders by status")
def riders_by_status(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return _section(runtime, "riders_by_status")
