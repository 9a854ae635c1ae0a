"""Agents of the real app driven through Faust's test_context (no broker, no Redis)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.settings import load_settings
from rideshare.workers import build_worker_app
from schemas.codec import encode
from streams.app import context_of


def gps_ping(event_id: str, t: int, entity: str = "D1") -> dict:
    return {"event_id": event_id, "event_time": t, "session_id": "s", "correlation_id": entity, "causation_id": None,
            "entity_type": "driver", "entity_id": entity, "lat": -23.55, "lon": -46.63, "heading_deg": 10.0,
            "speed_kmh": 20.0, "accuracy_m": 5.0, "trip_id": None, "driver_status": "on_trip"}


@pytest.fixture
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(topic_namespace="unit.", local_dir=tmp_path)
    return build_worker_app(settings, topologies=("dedup", "gps"), web_port=16066)


def agent_named(app, suffix: str):  # type: ignore[no-untyped-def]
    return next(agent for name, agent in app.agents.items() if name.endswith(suffix))


async def until_batched(app, events: int) -> None:  # type: ignore[no-untyped-def]
    """Wait until the agent's batch holding `events` events went through dedup (its table writes follow
    in the same synchronous step): put() returns when an event is buffered, not when its batch ran."""
    node = context_of(app).registry.node("dedup.decode-gps")
    async with asyncio.timeout(10):
        while node.events_in < events:
            await asyncio.sleep(0.01)


def test_gps_agent_counts_a_duplicated_ping_once_and_skips_poison(app) -> None:  # type: ignore[no-untyped-def]
    agent = agent_named(app, "gps-windows")
    context = context_of(app)

    async def drive() -> None:
        async with agent.test_context() as test_agent:
            await test_agent.put(encode("gps_ping", gps_ping("e1", 100)), key=b"D1")
            await test_agent.put(encode("gps_ping", gps_ping("e1", 100)), key=b"D1")
            await test_agent.put(b"\x00not avro", key=b"D1")
            await test_agent.put(encode("gps_ping", gps_ping("e2", 400)), key=b"D1")
            await until_batched(app, 4)

    asyncio.run(drive())
    state = next(table for name, table in app.tables.items() if name.startswith("gps-window")).get("D1")
    assert state["ping_count"] == 2
    registry = context.registry
    assert registry.node("dedup.seen-gps").events_in == 3 and registry.node("dedup.seen-gps").events_out == 2
    assert registry.node("dedup.decode-gps").errors == 1
    drops = context.metrics.dedup_drops.labels("gps")._value.get()
    assert drops == 1


def test_dedup_forgets_ids_once_event_time_passes_the_horizon(tmp_path: Path) -> None:
    settings = load_settings(topic_namespace="unit2.", local_dir=tmp_path, dedup_horizon_ms=1_000)
    app = build_worker_app(settings, topologies=("dedup", "gps"), web_port=16067)
    agent = agent_named(app, "gps-windows")

    seen = next(table for name, table in app.tables.items() if name.startswith("dedup-gps"))
    stored: list[list[str] | None] = []

    async def drive() -> None:
        async with agent.test_context() as test_agent:
            for i in range(5):
                await test_agent.put(encode("gps_ping", gps_ping(f"old-{i}", 100 + i)), key=b"D1")
            await until_batched(app, 5)
            # one chunk per event-time bucket (8 ms here), keyed partition:bucket:offset of the batch's last event
            stored.extend([seen.get("0:96:4"), seen.get("0:104:4")])
            await test_agent.put(encode("gps_ping", gps_ping("new", 5_000)), key=b"D1")
            await until_batched(app, 6)

    asyncio.run(drive())
    assert stored == [["old-0", "old-1", "old-2", "old-3"], ["old-4"]]
    # both old chunks were deleted once event time passed the horizon: the table stays bounded
    assert seen.get("0:96:4") is None and seen.get("0:104:4") is None
    assert seen.get("0:5000:5") == ["new"]
