"""Reading the simulation's state and counters (any key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from agents_sim.api.deps import Runtime, ViewerRole
from agents_sim.api.models import Metrics, Overview, SimStatus, ZoneMetrics

router = APIRouter(prefix="/api", tags=["status"])

JsonObject = dict[str, Any]


@router.get("/sim/status", summary="Lifecycle state, simulated time, speed (set and achieved), lag, broker, counts",
            response_model=SimStatus)
def sim_status(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return runtime.status()


@router.get("/metrics", summary="Every metric section at once", response_model=Metrics)
def all_metrics(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return runtime.metrics()


@router.get("/metrics/overview", summary="Headline counters: trips, cancellations, fares", response_model=Overview)
def overview(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return runtime.metrics()["overview"]


@router.get("/metrics/zones", summary="Per-zone demand, supply and current surge multiplier", response_model=list[ZoneMetrics])
def zones(_: ViewerRole, runtime: Runtime) -> list[JsonObject]:
    return runtime.metrics()["zones"]


@router.get("/metrics/trips", summary="Trips in flight by state", response_model=dict[str, int])
def trips_by_state(_: ViewerRole, runtime: Runtime) -> dict[str, int]:
    return runtime.metrics()["trips_by_state"]


@router.get("/metrics/drivers", summary="Drivers by status", response_model=dict[str, int])
def drivers_by_status(_: ViewerRole, runtime: Runtime) -> dict[str, int]:
    return runtime.metrics()["drivers_by_status"]


@router.get("/metrics/riders", summary="Riders by status", response_model=dict[str, int])
def riders_by_status(_: ViewerRole, runtime: Runtime) -> dict[str, int]:
    return runtime.metrics()["riders_by_status"]
