"""Request and response bodies of the control API (validated by pydantic: bad input is a clear 422)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_SPAWN", "PauseRequest", "SpawnRequest", "Spawned", "SpeedRequest", "TopologyView", "WorkerTopology"]

# One request adds at most this many agents: the simulation bounds its totals itself (ValueError -> 422).
MAX_SPAWN = 1_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo in a field name is an error, not silently ignored


class PauseRequest(_Strict):
    drain_timeout_s: float = Field(
        120.0, gt=0, le=86_400,
        description="Simulated seconds to let trips in flight finish (DRAINING) before the rest are cancelled and the run PAUSES.",
    )


class SpeedRequest(_Strict):
    speed: float | None = Field(
        ..., ge=0.5, le=1000, description="Simulated seconds per wall-clock second (0.5-1000), or null for as fast as possible."
    )


class SpawnRequest(_Strict):
    count: int = Field(..., ge=1, le=MAX_SPAWN, description=f"How many agents to add (1-{MAX_SPAWN} per request).")


class Spawned(BaseModel):
    count: int
    ids: list[str]


class WorkerTopology(BaseModel):
    url: str
    ok: bool
    topology: Any | None = None
    error: str | None = None


class TopologyView(BaseModel):
    workers: list[WorkerTopology]
