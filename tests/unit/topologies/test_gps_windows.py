from __future__ import annotations

from typing import Any

import pytest

from schemas.geo import haversine_m
from tests.unit.topologies.batches import admitted
from topologies.gps import EntityWindow, GpsWindows


def ping(t: int, lat: float = -23.55, lon: float = -46.63, entity: str = "d1", **extra: Any) -> dict[str, Any]:
    return {"event_id": f"{entity}-{t}", "event_time": t, "session_id": "s", "correlation_id": entity, "causation_id": None,
            "entity_type": "driver", "entity_id": entity, "lat": lat, "lon": lon, "heading_deg": 90.0, "speed_kmh": 30.0,
            "accuracy_m": 5.0, "trip_id": None, "driver_status": "available", **extra}


def window(t: int, lat: float = -23.55) -> EntityWindow:
    start = t - t % 1000
    return EntityWindow("driver", "d1", "s", 0, start, start + 1000, t, lat, -46.63, 90.0, 30.0, "available", None)


def fold(state: EntityWindow, t: int, lat: float = -23.55, closed_until: int = 0) -> bool:
    return state.fold(t, lat, -46.63, 90.0, 30.0, "available", None, 1000, closed_until)


def test_haversine_of_one_hundredth_degree_of_latitude_is_about_1112_m() -> None:
    assert haversine_m(-23.55, -46.63, -23.56, -46.63) == pytest.approx(1112, abs=2)


def test_pings_in_one_window_keep_latest_position_count_and_distance() -> None:
    state = window(100)
    assert fold(state, 600, lat=-23.551)
    summary = state.summary()
    assert summary["ping_count"] == 2 and summary["lat"] == -23.551 and summary["window_end"] == 1000
    assert summary["distance_m"] == pytest.approx(111.2, abs=0.5)


def test_out_of_order_ping_inside_window_counts_but_does_not_move_position() -> None:
    state = window(600, lat=-23.551)
    assert fold(state, 100, lat=-23.0)
    assert state.ping_count == 2 and state.lat == -23.551 and state.distance_m == 0


def test_ping_of_an_older_window_or_of_a_closed_window_is_late() -> None:
    state = window(2500)
    assert not fold(state, 1500) and state.ping_count == 1
    assert not fold(state, 2600, closed_until=3000)


def test_next_window_starts_fresh_but_distance_continues_from_last_position() -> None:
    state = window(100)
    assert fold(state, 1100, lat=-23.551)
    assert state.window_start == 1000 and state.ping_count == 1
    assert state.distance_m == pytest.approx(111.2, abs=0.5)


def test_sweep_closes_windows_on_watermark_and_expires_idle_entities() -> None:
    table: dict = {}
    windows = GpsWindows(table, window_ms=1000, idle_expiry_ms=5000)
    sweeps, late = windows.fold(admitted([ping(100, entity="a"), ping(900, entity="b", lat=-23.6), ping(1200, entity="a")]))
    assert late == 0 and len(sweeps) == 1
    assert sorted(p.entity_id for p in sweeps[0].positions) == ["a", "b"]
    assert sweeps[0].window_end == 1000 and not sweeps[0].removed
    assert sorted(delta for _, _, delta in sweeps[0].density) == [1, 1]  # both drivers entered a cell
    assert table == {}  # state reaches the table at the checkpoint, once per entity
    windows.checkpoint(0)
    assert sorted(table) == ["a", "b"] and table["a"]["window_start"] == 1000  # a re-opened in window [1000, 2000)
    assert windows.fold(admitted([ping(950, entity="b")]))[1] == 1  # a ping of the emitted window is late
    sweeps, _ = windows.fold(admitted([ping(6500, entity="a")]))  # b silent: idle expiry removes it
    assert sweeps[-1].removed == ["driver:b"] and "b" in table
    windows.checkpoint(0)
    assert "b" not in table and table["a"]["window_start"] == 6000


def test_the_idle_index_holds_each_entity_once_however_many_of_its_windows_closed() -> None:
    windows = GpsWindows({}, window_ms=1000, idle_expiry_ms=300_000)
    entities = ("a", "b", "c")
    windows.fold(admitted([ping(t, entity=entity) for t in range(100, 200_000, 1000) for entity in entities]))
    clock = windows.clock(0, "s")
    assert sorted(key for keys in clock.idle_by_end.values() for key in keys) == sorted(entities)  # 200 windows each closed
    assert set(clock.idle_end_of.values()) == {199_000}
    sweeps, _ = windows.fold(admitted([ping(600_000, entity="a")]))  # all silent past the horizon: expired once each
    assert sorted(member for sweep in sweeps for member in sweep.removed) == ["driver:a", "driver:b", "driver:c"]
    assert [key for keys in clock.idle_by_end.values() for key in keys] == [] and list(clock.idle_end_of) == []
    assert list(windows.states) == ["a"]  # back with its new ping, in an open window


def test_moving_to_another_cell_moves_the_density_count() -> None:
    windows = GpsWindows({}, window_ms=1000, idle_expiry_ms=60_000)
    sweeps, _ = windows.fold(admitted([ping(100, entity="a"), ping(1100, entity="a", lat=-23.70), ping(2100, entity="a", lat=-23.70)]))
    moves = [delta for sweep in sweeps for _, _, delta in sweep.density]
    assert sorted(moves) == [-1, 1, 1] and sum(moves) == 1


def test_sweep_only_touches_its_own_partition() -> None:
    windows = GpsWindows({}, window_ms=1000, idle_expiry_ms=60_000)
    windows.fold(admitted([ping(100, entity="a")], partition=0))
    sweeps, _ = windows.fold(admitted([ping(1500, entity="b")], partition=1))
    assert all(not sweep.positions for sweep in sweeps)
    sweeps, _ = windows.fold(admitted([ping(1600, entity="c")], partition=0))
    assert [p.entity_id for sweep in sweeps for p in sweep.positions] == ["a"]


def test_a_step_marker_closes_the_windows_before_it_like_an_event_would() -> None:
    windows = GpsWindows({}, window_ms=1000, idle_expiry_ms=60_000)
    sweeps, _ = windows.fold(admitted([ping(100, entity="a")], markers=[(1, 60_000)]))
    assert [p.entity_id for sweep in sweeps for p in sweep.positions] == ["a"]


def test_each_run_has_its_own_clock_so_a_rerun_of_a_session_is_not_late() -> None:
    windows = GpsWindows({}, window_ms=1000, idle_expiry_ms=600_000)
    windows.fold(admitted([ping(500_000, entity="a")], run="s/first"))
    sweeps, late = windows.fold(admitted([ping(100, entity="a"), ping(1200, entity="a")], run="s/second"))
    assert late == 0 and [p.window_end for sweep in sweeps for p in sweep.positions] == [1000]


def test_clock_and_entities_are_rebuilt_from_the_table_after_a_restart() -> None:
    table: dict = {}
    first = GpsWindows(table, window_ms=1000, idle_expiry_ms=60_000)
    first.fold(admitted([ping(100, entity="a")], partition=2))
    first.checkpoint(2)
    restarted = GpsWindows(table, window_ms=1000, idle_expiry_ms=60_000)
    sweeps, _ = restarted.fold(admitted([ping(1500, entity="z")], partition=2))
    assert [p.entity_id for sweep in sweeps for p in sweep.positions] == ["a"]
