from __future__ import annotations

import pytest

from schemas.geo import haversine_m
from topologies.gps import GpsWindows, apply_ping, window_summary


def ping(t: int, lat: float = -23.55, lon: float = -46.63, entity: str = "d1", **extra: object) -> dict:
    return {"entity_type": "driver", "entity_id": entity, "event_time": t, "lat": lat, "lon": lon,
            "heading_deg": 90.0, "speed_kmh": 30.0, "driver_status": "available", "trip_id": None, **extra}


def test_haversine_of_one_hundredth_degree_of_latitude_is_about_1112_m() -> None:
    assert haversine_m(-23.55, -46.63, -23.56, -46.63) == pytest.approx(1112, abs=2)


def test_pings_in_one_window_keep_latest_position_count_and_distance() -> None:
    state, ok = apply_ping(None, ping(100), 1000)
    state, ok2 = apply_ping(state, ping(600, lat=-23.551), 1000)
    assert ok and ok2
    summary = window_summary(state)
    assert summary["ping_count"] == 2 and summary["lat"] == -23.551 and summary["window_end"] == 1000
    assert summary["distance_m"] == pytest.approx(111.2, abs=0.5)


def test_out_of_order_ping_inside_window_counts_but_does_not_move_position() -> None:
    state, _ = apply_ping(None, ping(600, lat=-23.551), 1000)
    state, ok = apply_ping(state, ping(100, lat=-23.0), 1000)
    assert ok and state["ping_count"] == 2 and state["lat"] == -23.551 and state["distance_m"] == 0


def test_ping_of_an_older_window_is_rejected_as_late() -> None:
    state, _ = apply_ping(None, ping(2500), 1000)
    same, ok = apply_ping(state, ping(1500), 1000)
    assert not ok and same is state


def test_next_window_starts_fresh_but_distance_continues_from_last_position() -> None:
    state, _ = apply_ping(None, ping(100), 1000)
    state, _ = apply_ping(state, ping(1100, lat=-23.551), 1000)
    assert state["window_start"] == 1000 and state["ping_count"] == 1
    assert state["distance_m"] == pytest.approx(111.2, abs=0.5)


def test_sweep_closes_windows_on_watermark_and_expires_idle_entities() -> None:
    table: dict = {}
    windows = GpsWindows(table, window_ms=1000, idle_expiry_ms=5000)
    assert windows.add(ping(100, entity="a"), 0) == (True, None)
    assert windows.add(ping(900, entity="b", lat=-23.6), 0) == (True, None)
    accepted, batch = windows.add(ping(1200, entity="a"), 0)
    assert accepted and batch is not None
    assert sorted(p["entity_id"] for p in batch.positions) == ["a", "b"]
    assert batch.window_end == 1000 and not batch.removed
    assert sorted(delta for _, _, delta in batch.density) == [1, 1]  # both drivers entered a cell
    assert table == {}  # state reaches the table on flush, once per entity
    windows.flush(0)
    assert sorted(table) == ["a", "b"] and table["a"]["window_start"] == 1000  # a re-opened in window [1000, 2000)
    # a ping of the closed window is late: it was already emitted
    assert windows.add(ping(950, entity="b"), 0)[0] is False
    # b stays silent; once the watermark is idle_expiry past its window it leaves the live map
    _, batch = windows.add(ping(6500, entity="a"), 0)
    assert batch is not None and batch.removed == ["driver:b"] and "b" in table
    windows.flush(0)
    assert "b" not in table and table["a"]["window_start"] == 6000
    assert ("drivers" in {kind for _, kind, _ in batch.density})


def test_moving_to_another_cell_moves_the_density_count() -> None:
    table: dict = {}
    windows = GpsWindows(table, window_ms=1000, idle_expiry_ms=60_000)
    windows.add(ping(100, entity="a"), 0)
    windows.add(ping(1100, entity="a", lat=-23.70), 0)
    _, batch = windows.add(ping(2100, entity="a", lat=-23.70), 0)
    assert batch is not None and sum(delta for _, _, delta in batch.density) == 0
    assert sorted(delta for _, _, delta in batch.density) == [-1, 1]


def test_sweep_only_touches_its_own_partition() -> None:
    table: dict = {}
    windows = GpsWindows(table, window_ms=1000, idle_expiry_ms=60_000)
    windows.add(ping(100, entity="a"), 0)
    _, batch = windows.add(ping(1500, entity="b"), 1)
    assert batch is not None and batch.positions == []
    _, batch = windows.add(ping(1600, entity="c"), 0)
    assert batch is not None and [p["entity_id"] for p in batch.positions] == ["a"]


def test_clock_is_rebuilt_from_the_table_after_a_restart() -> None:
    table: dict = {}
    first = GpsWindows(table, window_ms=1000, idle_expiry_ms=60_000)
    first.add(ping(100, entity="a"), 2)
    first.flush(2)
    restarted = GpsWindows(table, window_ms=1000, idle_expiry_ms=60_000)
    _, batch = restarted.add(ping(1500, entity="z"), 2)
    assert batch is not None and [p["entity_id"] for p in batch.positions] == ["a"]
