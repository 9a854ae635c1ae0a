"""Bronze in a consumer group of its own: a worker running only the real-time topologies never takes
bronze's partitions, and a lake outage stalls bronze alone while the live map keeps moving; once the
lake is back, bronze catches up with every record exactly once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec
from tests.faults.streams_support import metric, positions, produce_gps, wait_for_value
from tests.integration.bronze_support import assert_every_offset_exactly_once, bronze_rows, isolated_settings

pytestmark = pytest.mark.integration


def test_a_lake_outage_stalls_only_bronze_and_bronze_catches_up_exactly_once(kafka: object, redis_service: object,
                                                                              service_settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake folder should be: every Delta write fails until it is removed")
    settings = isolated_settings(service_settings, f"outage{uuid.uuid4().hex[:6]}", tmp_path, lake_uri=str(blocker / "inner"),
                                 bronze_batch_max_records=2_000, bronze_batch_max_seconds=0.5)
    realtime = WorkerProcess(settings, topologies="dedup,gps,surge", log_path=tmp_path / "realtime.log").start()
    bronze = WorkerProcess(settings, role="bronze", log_path=tmp_path / "bronze.log").start()
    gps = topic_spec("gps").qualified(settings.topic_namespace)
    try:
        realtime.wait_assigned(gps)
        bronze.wait_assigned(gps)
        assert realtime.assigned(gps) == bronze.assigned(gps) == set(range(topic_spec("gps").partitions))  # two groups, each all
        start_ms = int(time.time() * 1000)
        produce_gps(settings, 400, start_ms=start_ms)
        wait_for_value(lambda: positions(settings), lambda found: len(found) == 20, timeout_s=60,
                       what="live positions while the lake is down", worker=realtime)
        wait_for_value(lambda: metric(bronze, "rideshare_bronze_retries", reason="lake_unreachable"), lambda n: n >= 2,
                       timeout_s=60, what="bronze retrying against the unreachable lake", worker=bronze)
        assert bronze.running() and bronze_rows(settings, "gps").empty
        produce_gps(settings, 200, start_ms=start_ms + 30_000, prefix="q")  # the live path still moves
        wait_for_value(lambda: positions(settings), lambda found: min(p["event_time"] for p in found.values()) >= start_ms + 30_000,
                       timeout_s=60, what="live positions to move on during the outage", worker=realtime)
        blocker.unlink()  # the lake is back
        wait_for_value(lambda: len(bronze_rows(settings, "gps")), lambda n: n == 600, timeout_s=90,
                       what="bronze to catch up", worker=bronze)
        assert assert_every_offset_exactly_once(settings, "gps") == 600
    finally:
        realtime.stop()
        bronze.stop()
