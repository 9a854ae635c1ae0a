"""Errors of the bronze layer."""

from __future__ import annotations

from core.exceptions import RideshareError


class BronzeError(RideshareError):
    """Base of bronze errors."""


class BronzeCommitError(BronzeError):
    """A Delta commit kept failing; the batch was not acknowledged and will be re-delivered."""
