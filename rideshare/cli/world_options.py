"""The command-line options that describe a simulated world, declared once for `sim run`, `api` and `demo`
(defaults from rideshare.simulations.WorldOptions, speed spellings from schemas.limits)."""

from __future__ import annotations

from typing import Annotated

import typer

from rideshare.simulations import WorldOptions
from schemas.limits import SPEED_HELP

__all__ = ["DEFAULTS", "DriversOption", "RidersOption", "SeedOption", "SpeedOption", "StartOption"]

DEFAULTS = WorldOptions()

SeedOption = Annotated[int, typer.Option(help="Seed of every random stream: the same seed and options give the same events.")]
DriversOption = Annotated[int, typer.Option(min=0, help="Drivers in the world (each works by its own shift DNA).")]
RidersOption = Annotated[int, typer.Option(min=0, help="Riders in the world (each requests rides by the demand curve).")]
StartOption = Annotated[str, typer.Option(help="Simulated start instant, ISO-8601 (naive = São Paulo local time).")]
SpeedOption = Annotated[str, typer.Option(help=f"Speed: {SPEED_HELP}.")]
