"""Error types of the top-level package. Every error a user can see derives from RideshareError."""

from __future__ import annotations


class RideshareError(Exception):
    """Base of every error raised by Rideshare Streams code; its message says what to do."""


class InfraError(RideshareError):
    """A local service could not be installed, started, reached or stopped."""
