"""Limits and spellings of the simulation's controls, defined once for the runtime, the control API, the
CLI and the UI (the UI's copy, `frontend/src/api/limits.ts`, is generated from this module).

Speed is a factor of real time (simulated seconds per wall second) within `SPEED_FACTOR_MIN ..
SPEED_FACTOR_MAX`, or one of two words:

- `max` (`SPEED_MAX`): as fast as possible. File and lakehouse runs use it.
- `auto` (`SPEED_AUTO`): live runs pace themselves by the stream workers' consumer lag, as fast as the
  workers allow while their backlog stays within `AUTO_LAG_TARGET_S` seconds.

Nothing else spells "as fast as possible" (no `0`, no `null`).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

__all__ = [
    "AUTO_LAG_TARGET_S",
    "SPAWN_PER_REQUEST_MAX",
    "SPEED_AUTO",
    "SPEED_FACTOR_MAX",
    "SPEED_FACTOR_MIN",
    "SPEED_MAX",
    "Speed",
    "SpeedWord",
    "parse_speed",
    "speed_label",
]

SPEED_FACTOR_MIN = 0.5
SPEED_FACTOR_MAX = 1000.0
SPEED_MAX: Literal["max"] = "max"
SPEED_AUTO: Literal["auto"] = "auto"
SpeedWord: TypeAlias = Literal["max", "auto"]
Speed: TypeAlias = float | SpeedWord

# `auto` keeps the real-time workers' backlog (records behind / their drain rate) around this many wall seconds.
AUTO_LAG_TARGET_S = 2.0

# Agents one spawn command (API request, runtime call) may add; the world's totals are bounded by SimConfig.
SPAWN_PER_REQUEST_MAX = 1_000

SPEED_HELP = (f"a factor of real time ({SPEED_FACTOR_MIN:g}..{SPEED_FACTOR_MAX:g}), '{SPEED_MAX}' (as fast as possible) "
              f"or '{SPEED_AUTO}' (paced by the stream workers' lag)")


def parse_speed(value: object) -> Speed:
    """`max`, `auto`, or a factor within the bounds (a number, or text such as "30" or "2.5x").
    Raises ValueError saying what is allowed."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in (SPEED_MAX, SPEED_AUTO):
            return text  # type: ignore[return-value]  # narrowed to the two words just above
        try:
            factor = float(text.removesuffix("x").removesuffix("×").strip())
        except ValueError:
            raise ValueError(f"speed {value!r} is not {SPEED_HELP}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        factor = float(value)
    else:
        raise ValueError(f"speed {value!r} is not {SPEED_HELP}")
    if not SPEED_FACTOR_MIN <= factor <= SPEED_FACTOR_MAX:  # also rejects NaN
        raise ValueError(f"speed {factor:g} is outside {SPEED_FACTOR_MIN:g}..{SPEED_FACTOR_MAX:g}; "
                         f"use '{SPEED_MAX}' for as fast as possible or '{SPEED_AUTO}' to follow the workers")
    return factor


def speed_label(speed: Speed) -> str:
    """How every interface prints a speed: `30×`, `max`, `auto`."""
    return speed if isinstance(speed, str) else f"{speed:g}×"
