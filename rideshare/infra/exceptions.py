"""Errors of the local service launcher."""

from __future__ import annotations

from core.exceptions import RideshareError

__all__ = ["InfraError"]


class InfraError(RideshareError):
    """A local service could not be installed, started, reached or stopped."""
