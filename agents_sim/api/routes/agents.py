"""Inspecting agents, trips and zones (any key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from agents_sim.api.deps import Runtime, ViewerRole
from agents_sim.api.models import DriverView, RiderView, TripView, ZoneCollection, ZoneDetail

router = APIRouter(prefix="/api", tags=["agents"])

JsonObject = dict[str, Any]
NOT_FOUND = {404: {"description": "No such id in this simulation."}}
# Ids are short printable tokens; anything else cannot name an agent (and is a 422, not a lookup).
AgentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _found(value: JsonObject | None, kind: str, key: str) -> JsonObject:
    if value is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no {kind} with id {key!r} in this simulation")
    return value


@router.get("/drivers/{driver_id}", summary="A driver: DNA, state, position, active trip, recent history", response_model=DriverView,
            responses=NOT_FOUND)
def driver(driver_id: AgentId, _: ViewerRole, runtime: Runtime) -> JsonObject:
    return _found(runtime.driver(driver_id), "driver", driver_id)


@router.get("/riders/{rider_id}", summary="A rider: DNA, state, position, active trip, recent history", response_model=RiderView,
            responses=NOT_FOUND)
def rider(rider_id: AgentId, _: ViewerRole, runtime: Runtime) -> JsonObject:
    return _found(runtime.rider(rider_id), "rider", rider_id)


@router.get("/trips", summary="Trips in flight with their routes ([lon, lat] polylines)", response_model=list[TripView])
def active_trips(_: ViewerRole, runtime: Runtime) -> list[JsonObject]:
    return runtime.active_trips()


@router.get("/zones", summary="The districts as a GeoJSON FeatureCollection", response_model=ZoneCollection)
def zones_geojson(_: ViewerRole, runtime: Runtime) -> JsonObject:
    return runtime.zones_geojson()


@router.get("/zones/{zone_id}", summary="One district: its GeoJSON feature and live metrics", response_model=ZoneDetail,
            responses=NOT_FOUND)
def zone(zone_id: AgentId, _: ViewerRole, runtime: Runtime) -> JsonObject:
    feature = next((f for f in runtime.zones_geojson()["features"] if f["id"] == zone_id), None)
    feature = _found(feature, "zone", zone_id)
    metrics = next((z for z in runtime.metrics()["zones"] if z["zone_id"] == zone_id), None)
    return {"feature": feature, "metrics": metrics}
