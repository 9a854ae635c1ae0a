"""Per-client coalescing: a slow client's pending state is bounded by identities, never by frames."""

from __future__ import annotations

import json

import pytest

from agents_sim.api.live.coalesce import Delta, Mailbox, to_json


def _frame(tick: int, entities: range, *, trips: int = 0) -> tuple[Delta, str]:
    delta = Delta()
    delta.add_positions([{"entity_type": "driver", "entity_id": f"d{i}", "lat": -23.5 + tick * 1e-4, "lon": -46.6} for i in entities])
    for t in range(trips):
        delta.add_trip({"trip_id": f"t{tick}-{t}", "state": "requested"})
    delta.stats = {"tick": tick}
    return delta, to_json(delta.to_message(tick))


def _ready_mailbox(max_pending_objects: int = 1_000) -> Mailbox:
    mailbox = Mailbox(max_pending_objects=max_pending_objects)
    mailbox.snapshot_started()
    return mailbox


def test_new_mailbox_asks_for_a_snapshot_and_ignores_frames_until_then() -> None:
    mailbox = Mailbox(max_pending_objects=10)
    frame, text = _frame(1, range(3))
    mailbox.offer(frame, text, 1)
    assert mailbox.needs_snapshot and mailbox.take() is None and mailbox.pending_objects == 0


def test_a_client_that_keeps_up_gets_the_shared_frame_text_unchanged() -> None:
    mailbox = _ready_mailbox()
    frame, text = _frame(1, range(3))
    mailbox.offer(frame, text, 1)
    assert mailbox.take() is text
    assert mailbox.take() is None


def test_frames_for_a_slow_client_merge_to_the_latest_value_per_entity() -> None:
    mailbox = _ready_mailbox()
    shared = []
    for tick in range(1, 101):
        frame, text = _frame(tick, range(50))
        shared.append(frame)
        mailbox.offer(frame, text, tick)
    assert mailbox.pending_objects == 51  # 50 positions + one stats object, after 100 frames
    assert mailbox.stats.frames_coalesced == 99
    message = json.loads(mailbox.take() or "")
    assert message["tick"] == 100 and message["stats"] == {"tick": 100}
    assert len(message["positions"]) == 50
    assert all(p["lat"] == pytest.approx(-23.5 + 100 * 1e-4) for p in message["positions"])
    # Merging copied the first shared frame instead of changing it under the other clients.
    assert len(shared[0].positions) == 50 and shared[0].stats == {"tick": 1}


def test_a_pending_delta_past_the_bound_turns_into_a_snapshot_request() -> None:
    mailbox = _ready_mailbox(max_pending_objects=100)
    for tick in range(1, 30):
        frame, text = _frame(tick, range(2), trips=10)  # new trip ids every frame: identities keep growing
        mailbox.offer(frame, text, tick)
        assert mailbox.pending_objects <= 100
    assert mailbox.stats.resyncs >= 1 and mailbox.needs_snapshot


def test_pending_bytes_measures_the_frame_that_would_be_sent() -> None:
    mailbox = _ready_mailbox()
    assert mailbox.pending_bytes() == 0
    frame, text = _frame(1, range(5))
    mailbox.offer(frame, text, 1)
    assert mailbox.pending_bytes() == len(text.encode())


def test_delta_message_lists_each_identity_once() -> None:
    delta = Delta()
    delta.add_positions([{"entity_type": "driver", "entity_id": "d1", "lat": 1}, {"entity_type": "driver", "entity_id": "d1", "lat": 2}])
    delta.add_positions([{"entity_type": "rider", "entity_id": "d1", "lat": 3}])
    delta.add_surge({"zone_id": "7", "surge_multiplier": 1.2})
    delta.add_surge({"zone_id": "7", "surge_multiplier": 1.5})
    message = delta.to_message(3)
    assert [p["lat"] for p in message["positions"]] == [2, 3]
    assert message["surge"] == [{"zone_id": "7", "surge_multiplier": 1.5}] and message["stats"] is None


def test_an_entity_is_either_moved_or_removed_in_a_delta_the_latest_wins() -> None:
    older, newer = Delta(), Delta()
    older.add_positions([{"entity_type": "driver", "entity_id": "d1", "lat": 1}, {"entity_type": "driver", "entity_id": "d2", "lat": 1}])
    newer.add_removed(["driver:d1"])
    newer.add_positions([{"entity_type": "driver", "entity_id": "d3", "lat": 1}])
    older.merge(newer)
    message = older.to_message(1)
    assert [p["entity_id"] for p in message["positions"]] == ["d2", "d3"] and message["removed"] == ["driver:d1"]
    back = Delta()
    back.add_positions([{"entity_type": "driver", "entity_id": "d1", "lat": 2}])  # it came back on the map
    older.merge(back)
    assert "driver:d1" not in older.removed and older.positions["driver:d1"]["lat"] == 2
    assert older.object_count == 3


def test_mailbox_rejects_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Mailbox(max_pending_objects=0)
