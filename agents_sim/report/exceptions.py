"""Errors of the KPI report."""

from __future__ import annotations

from core.exceptions import RideshareError

__all__ = ["ReportError"]


class ReportError(RideshareError):
    """The events could not be read (missing file, bad line, unreachable broker); the message says what to do."""
