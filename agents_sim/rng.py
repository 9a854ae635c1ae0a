"""Seeded random streams. One `--seed` drives everything: every stream is derived from it and a label,
so adding a stream (or an agent) never shifts the numbers of another."""

from __future__ import annotations

import hashlib
import random

__all__ = ["derive_seed", "stream"]


def derive_seed(seed: int, *labels: object) -> int:
    digest = hashlib.blake2b(repr((seed, *labels)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stream(seed: int, *labels: object) -> random.Random:
    """An independent `random.Random` for (seed, labels)."""
    return random.Random(derive_seed(seed, *labels))
