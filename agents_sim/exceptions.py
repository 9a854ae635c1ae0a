"""Errors of the simulation package, all under core.exceptions.RideshareError."""

from __future__ import annotations

from core.exceptions import RideshareError

__all__ = ["CheckpointError", "ConfigError", "InvalidTransition", "RuntimeBusyError", "RuntimeStateError", "SimulationError",
           "SurgeLoopError"]


class SimulationError(RideshareError):
    """Base of the simulation's errors."""


class ConfigError(SimulationError, ValueError):
    """A simulation parameter is out of range or unknown; the message names it and the allowed values."""


class InvalidTransition(SimulationError):
    """A trip was moved along an edge its state machine does not have: a bug in the simulation."""


class RuntimeStateError(SimulationError):
    """A control command that the runtime's current state does not allow (e.g. resume while running)."""


class RuntimeBusyError(RuntimeStateError):
    """The runtime's bounded command queue is full: the caller should retry shortly."""


class CheckpointError(SimulationError):
    """A checkpoint file cannot be written or read back."""


class SurgeLoopError(SimulationError):
    """The lockstep surge loop cannot close a step (no surge topology answering, surge topic missing or
    unreadable); the message says what to start."""
