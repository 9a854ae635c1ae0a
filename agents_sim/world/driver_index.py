"""H3 index of matchable drivers (available or repositioning) with ring search."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

import h3

__all__ = ["DriverIndex"]

T = TypeVar("T")


class DriverIndex(Generic[T]):
    """cell -> {driver_id: driver}. Dicts (not sets) keep iteration order deterministic."""

    def __init__(self, resolution: int = 9) -> None:
        self.resolution = resolution
        self._cells: dict[str, dict[str, T]] = {}
        self._cell_of: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._cell_of)

    def __contains__(self, driver_id: str) -> bool:
        return driver_id in self._cell_of

    def cell(self, lat: float, lon: float) -> str:
        return h3.latlng_to_cell(lat, lon, self.resolution)

    def put(self, driver_id: str, driver: T, lat: float, lon: float) -> None:
        """Insert or move a driver."""
        cell = h3.latlng_to_cell(lat, lon, self.resolution)
        old = self._cell_of.get(driver_id)
        if old == cell:
            return
        if old is not None:
            self._drop_from(old, driver_id)
        self._cells.setdefault(cell, {})[driver_id] = driver
        self._cell_of[driver_id] = cell

    def remove(self, driver_id: str) -> None:
        old = self._cell_of.pop(driver_id, None)
        if old is not None:
            self._drop_from(old, driver_id)

    def _drop_from(self, cell: str, driver_id: str) -> None:
        members = self._cells[cell]
        del members[driver_id]
        if not members:
            del self._cells[cell]

    def ring_search(self, lat: float, lon: float, *, max_k: int, want: int) -> Iterator[tuple[int, T]]:
        """Drivers by growing ring distance k (0..max_k); stops after the ring in which `want` were found."""
        origin = h3.latlng_to_cell(lat, lon, self.resolution)
        found = 0
        for k in range(max_k + 1):
            cells = (origin,) if k == 0 else h3.grid_ring(origin, k)
            for cell in cells:
                for driver in self._cells.get(cell, {}).values():
                    found += 1
                    yield k, driver
            if found >= want:
                return
