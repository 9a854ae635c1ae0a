"""Write the UI's copy of the limits contract (schemas/limits.py) as TypeScript: src/api/limits.ts.

Run by `npm run gen:api` (frontend/package.json) next to the OpenAPI dump; a unit test fails when the
committed file differs from what this writes, so the UI cannot drift from the runtime and the API.
"""

from __future__ import annotations

import sys
from pathlib import Path

from schemas import limits

TARGET = Path(__file__).resolve().parent.parent / "src" / "api" / "limits.ts"


def _number(value: float | int) -> str:
    return f"{value:g}" if isinstance(value, float) else f"{value:_}"


def limits_ts() -> str:
    lines = [
        "// Generated from schemas/limits.py by `npm run gen:api` (scripts/dump_limits.py): do not edit.",
        "// Speed: a factor of real time within the bounds, 'max' (as fast as possible) or 'auto' (paced by the stream workers' lag).",
        "",
        f"export const SPEED_FACTOR_MIN = {_number(limits.SPEED_FACTOR_MIN)};",
        f"export const SPEED_FACTOR_MAX = {_number(limits.SPEED_FACTOR_MAX)};",
        f"export const SPEED_MAX = '{limits.SPEED_MAX}' as const;",
        f"export const SPEED_AUTO = '{limits.SPEED_AUTO}' as const;",
        "export type SpeedWord = typeof SPEED_MAX | typeof SPEED_AUTO;",
        "export type Speed = number | SpeedWord;",
        "/** What `auto` keeps the workers' backlog near (wall seconds). */",
        f"export const AUTO_LAG_TARGET_S = {_number(limits.AUTO_LAG_TARGET_S)};",
        "/** Agents one spawn request may add. */",
        f"export const SPAWN_PER_REQUEST_MAX = {_number(limits.SPAWN_PER_REQUEST_MAX)};",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET
    target.write_text(limits_ts(), encoding="utf-8")
    print(f"wrote {target}")
