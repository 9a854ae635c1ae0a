"""Mutating the simulation (admin keys only): lifecycle, speed, spawning agents.

Every lifecycle call returns the runtime's status right after the command, so the caller sees the new
state (for a pause: DRAINING first, then PAUSED once trips in flight are done - poll the status).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from agents_sim.api.deps import AdminRole, Runtime
from agents_sim.api.models import PauseRequest, Spawned, SpawnRequest, SpeedRequest

router = APIRouter(prefix="/api/sim", tags=["control"])

Status = dict[str, Any]


@router.post("/start", summary="Start a new simulation (created -> running); a paused one is resumed with /resume")
def start(_: AdminRole, runtime: Runtime) -> Status:
    runtime.start()
    return runtime.status()


@router.post("/pause", status_code=status.HTTP_202_ACCEPTED, summary="Pause in two phases: drain trips in flight, then pause")
def pause(_: AdminRole, runtime: Runtime, body: PauseRequest | None = None) -> Status:
    runtime.pause(drain_timeout_s=(body or PauseRequest()).drain_timeout_s)
    return runtime.status()


@router.post("/resume", summary="Resume a paused simulation")
def resume(_: AdminRole, runtime: Runtime) -> Status:
    runtime.resume()
    return runtime.status()


@router.post("/stop", summary="Stop the simulation (flushes its events)")
def stop(_: AdminRole, runtime: Runtime) -> Status:
    runtime.stop()
    return runtime.status()


@router.post("/reset", summary="Back to a fresh world from the same configuration")
def reset(_: AdminRole, runtime: Runtime) -> Status:
    runtime.reset()
    return runtime.status()


@router.put("/speed", summary="Set the speed factor (simulated seconds per wall second)")
def set_speed(body: SpeedRequest, _: AdminRole, runtime: Runtime) -> Status:
    runtime.set_speed(body.speed)
    return runtime.status()


@router.post("/drivers", status_code=status.HTTP_201_CREATED, summary="Add drivers")
def spawn_drivers(body: SpawnRequest, _: AdminRole, runtime: Runtime) -> Spawned:
    ids = runtime.spawn_drivers(body.count)
    return Spawned(count=len(ids), ids=ids)


@router.post("/riders", status_code=status.HTTP_201_CREATED, summary="Add riders")
def spawn_riders(body: SpawnRequest, _: AdminRole, runtime: Runtime) -> Spawned:
    ids = runtime.spawn_riders(body.count)
    return Spawned(count=len(ids), ids=ids)
