"""Rideshare Streams: the `rideshare` command, settings and the local service launcher."""

__all__ = ["__version__"]
__version__ = "0.1.0"
