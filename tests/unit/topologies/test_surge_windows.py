"""The surge windows processor driven with signal messages: real Faust tables (RocksDB), no broker, no Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest

from core.settings import Settings, load_settings
from rideshare.workers import build_worker_app
from tests.unit.topologies.batches import Message
from topologies.surge import MAX_RUNS, SurgeWindows

T0 = 1_767_607_200_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(topic_namespace="unit.", local_dir=tmp_path)


def windows_of(settings: Settings) -> SurgeWindows:
    app = build_worker_app(settings, topologies=("dedup", "surge"), web_port=16067)
    signal_topic = f"{settings.topic_namespace}rideshare.internal.surge-signals"
    agent = next(agent for agent in app.topics.batch_agents if agent.buffer is app.topics.batch_buffers[signal_topic])
    windows: SurgeWindows = agent.processor.windows
    return windows


def signal_message(offset: int, run_id: str, zone_id: str) -> Message:
    """One demand signal of run `run_id` (session "s") from partition 0 of the trips topic."""
    value: dict[str, Any] = {"session_id": "s", "run_id": run_id,
                             "sources": [["trips:0", [["s", "demand", zone_id, T0 + offset, f"e{offset}"]]]]}
    return Message("unit.rideshare.internal.surge-signals", 0, offset, b"s/" + run_id.encode(), msgspec.json.encode(value))


def test_a_new_run_beyond_the_kept_runs_keeps_its_state_and_the_least_recent_run_goes(settings: Settings) -> None:
    windows = windows_of(settings)
    run_ids = [f"r{index}" for index in range(MAX_RUNS + 1)]

    async def feed() -> None:
        for offset, run_id in enumerate(run_ids):
            await windows.process([signal_message(offset, run_id, zone_id="7")])
        await windows.process([signal_message(len(run_ids), run_ids[-1], zone_id="8")])

    asyncio.run(feed())
    runs = windows.runs
    assert runs is not None
    assert sorted(runs) == sorted(f"s/{run_id}" for run_id in run_ids[1:])  # the first run went, the newest stayed
    newest = runs[f"s/{run_ids[-1]}"]
    assert set(newest.engine.zones) == {"7", "8"}  # both of its signals were counted in one kept state
