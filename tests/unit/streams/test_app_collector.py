"""A started worker freezes its start-up objects and runs young garbage collections far apart."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import load_settings
from streams.app import GC_YOUNG_THRESHOLD, GarbageCollectorTuning, create_app


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_startup_finished_freezes_the_heap_and_raises_the_young_threshold(tmp_path: Path, restored_collector: None) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    app = create_app(load_settings(local_dir=tmp_path), web_port=16997)
    tuning = app._extra_services[0]  # started before any batch agent (a real worker's: tests/integration/test_topology_dedup.py)
    assert isinstance(tuning, GarbageCollectorTuning)
    asyncio.run(tuning.on_start())
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 1_000  # the app, Faust and everything imported so far
