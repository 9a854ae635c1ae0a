"""The error base. Every error a user can see derives from RideshareError; each package has its own subclasses."""

from __future__ import annotations


class RideshareError(Exception):
    """Base of every error raised by Rideshare Streams code; its message says what to do."""

