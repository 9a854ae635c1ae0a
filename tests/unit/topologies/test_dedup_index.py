from __future__ import annotations

from topologies.dedup import SeenIndex


def test_ids_expire_once_watermark_is_horizon_past_them() -> None:
    index = SeenIndex(horizon_ms=1000)
    index.add("a", 0)
    index.add("b", 500)
    assert index.pop_expired() == []
    index.add("c", 1200)
    assert index.pop_expired() == ["a"]
    index.add("d", 5000)
    assert index.pop_expired() == ["b", "c"]
    assert len(index) == 1


def test_out_of_order_ids_wait_behind_older_entries() -> None:
    index = SeenIndex(horizon_ms=100)
    index.add("late", 1000)
    index.add("early", 10)
    index.add("now", 1050)
    assert index.pop_expired() == []  # 'early' is behind 'late' in arrival order: bounded, expires later
    index.add("later", 1200)
    assert index.pop_expired() == ["late", "early", "now"]
