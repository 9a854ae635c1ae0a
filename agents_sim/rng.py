"""Seeded random streams. One `--seed` drives everything: every stream is derived from it and a label,
so adding a stream (or an agent) never shifts the numbers of another.

`RandomStreams` holds the simulation's streams, one per purpose: a change to how riders choose
destinations draws from its own stream and leaves dispatch, rides, payments and GPS noise as they were.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

__all__ = ["PURPOSES", "RandomStreams", "derive_seed", "stream"]

# The purposes of the simulation's random draws (agent DNA and shift jitter use their own per-agent seeds).
PURPOSES = (
    "rider-clock",     # when riders open the app (one shared Poisson clock)
    "rider-choices",   # destinations, spontaneous and late-car cancellations, retries
    "driver-choices",  # offer acceptance and response time, cancellations after accepting
    "repositioning",   # idle dwells and where idle drivers drive to
    "ride",            # boarding time, no-shows, the ride's speed
    "settlement",      # take rate, payment failures, ratings
    "gps",             # ping noise bits, outliers, speedometer jitter
    "gps-noise-table",  # the noise table drawn once
    "profiles",        # hourly profile changes
)


def derive_seed(seed: int, *labels: object) -> int:
    digest = hashlib.blake2b(repr((seed, *labels)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stream(seed: int, *labels: object) -> random.Random:
    """An independent `random.Random` for (seed, labels)."""
    return random.Random(derive_seed(seed, *labels))


class RandomStreams:
    """One independent stream per purpose of `PURPOSES`, derived from the seed."""

    def __init__(self, seed: int) -> None:
        self._streams = {purpose: stream(seed, purpose) for purpose in PURPOSES}

    def __getitem__(self, purpose: str) -> random.Random:
        try:
            return self._streams[purpose]
        except KeyError:
            raise KeyError(f"no random stream for {purpose!r}; purposes: {', '.join(PURPOSES)}") from None

    def getstate(self) -> dict[str, Any]:
        return {purpose: rng.getstate() for purpose, rng in self._streams.items()}

    def setstate(self, states: dict[str, Any]) -> None:
        for purpose, state in states.items():
            self[purpose].setstate(state)
