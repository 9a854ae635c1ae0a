"""Mutating the simulation (admin keys only): lifecycle, speed, spawning agents.

Every lifecycle call returns the runtime's status right after the command, so the caller sees the new
state (for a pause: DRAINING first, then PAUSED once trips in flight are done - poll the status).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from agents_sim.api.deps import AdminRole, Runtime
from agents_sim.api.models import PauseRequest, SimStatus, Spawned, SpawnRequest, SpeedRequest

# What every mutating route may answer besides its result (the guard's and the runtime's refusals).
REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The simulation's state does not allow this (e.g. resume while running)."},
    413: {"description": "The request body is too large."},
    422: {"description": "Invalid input: the message says what is allowed."},
    429: {"description": "Too many changes: retry after the Retry-After seconds."},
}
router = APIRouter(prefix="/api/sim", tags=["control"], responses=REFUSALS)

Status = dict[str, Any]


@router.post("/start", response_model=SimStatus,
             summary="Start a new simulation (created -> running); a paused one is resumed with /resume")
def start(_: AdminRole, runtime: Runtime) -> Status:
    runtime.start()
    return runtime.status()


@router.post("/pause", response_model=SimStatus, status_code=status.HTTP_202_ACCEPTED,
             summary="Pause in two phases: drain trips in flight, then pause")
def pause(_: AdminRole, runtime: Runtime, body: PauseRequest | None = None) -> Status:
    runtime.pause(drain_timeout_s=(body or PauseRequest()).drain_timeout_s)
    return runtime.status()


@router.post("/resume", response_model=SimStatus, summary="Resume a paused simulation")
def resume(_: AdminRole, runtime: Runtime) -> Status:
    runtime.resume()
    return runtime.status()


@router.post("/stop", response_model=SimStatus, summary="Stop the simulation (flushes its events)")
def stop(_: AdminRole, runtime: Runtime) -> Status:
    runtime.stop()
    return runtime.status()


@router.post("/reset", response_model=SimStatus, summary="Back to a fresh world from the same configuration")
def reset(_: AdminRole, runtime: Runtime) -> Status:
    runtime.reset()
    return runtime.status()


@router.put("/speed", response_model=SimStatus, summary="Set the speed: a factor of real time, `max` or `auto`")
def set_speed(body: SpeedRequest, _: AdminRole, runtime: Runtime) -> Status:
    runtime.set_speed(body.speed)
    return runtime.status()


@router.post("/drivers", status_code=status.HTTP_201_CREATED, summary="Add drivers", response_model=Spawned)
def spawn_drivers(body: SpawnRequest, _: AdminRole, runtime: Runtime) -> Spawned:
    ids = runtime.spawn_drivers(body.count)
    return Spawned(count=len(ids), ids=ids)


@router.post("/riders", status_code=status.HTTP_201_CREATED, summary="Add riders", response_model=Spawned)
def spawn_riders(body: SpawnRequest, _: AdminRole, runtime: Runtime) -> Spawned:
    ids = runtime.spawn_riders(body.count)
    return Spawned(count=len(ids), ids=ids)
