"""A partition assigned to a worker but never fetched (the shape of faust-streaming#629, injected here by
a fault hook that stops fetching it behind Faust's back) is found by the worker's watchdog and healed
within a minute; /healthz says so meanwhile. The worker's web server listens on loopback only."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psutil
import pytest

from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec
from tests.faults.streams_support import metric, positions, produce_gps, wait_for_value
from tests.integration.bronze_support import isolated_settings

pytestmark = pytest.mark.integration


def test_an_assigned_partition_that_is_never_fetched_is_healed_within_a_minute(kafka: object, redis_service: object,
                                                                               service_settings: Settings, tmp_path: Path) -> None:
    settings = isolated_settings(service_settings, f"stall{uuid.uuid4().hex[:6]}", tmp_path)
    gps = topic_spec("gps").qualified(settings.topic_namespace)
    stalled = f"{gps}:3"
    worker = WorkerProcess(settings, topologies="gps", log_path=tmp_path / "worker.log",
                           env={"RIDESHARE_FAULT_UNFETCHED_PARTITION": stalled, "RIDESHARE_STREAM_STALL_TIMEOUT_S": "10",
                                "RIDESHARE_STREAM_STALL_CHECK_S": "2"}).start()
    try:
        worker.wait_assigned(gps)
        produce_gps(settings, 480, start_ms=int(time.time() * 1000), drivers=48)  # every partition gets pings
        started = time.monotonic()
        status, report = wait_for_value(worker.health, lambda health: stalled in health[1]["stalled"], timeout_s=30,
                                        what="the watchdog to report the unfetched partition", worker=worker)
        assert (status, report["status"]) == (503, "stalled")
        wait_for_value(lambda: positions(settings), lambda found: len(found) == 48, timeout_s=60,
                       what="every driver's position, including those of the unfetched partition", worker=worker)
        assert time.monotonic() - started < 60
        assert metric(worker, "rideshare_stream_stalled_partitions_healed", partition="3") == 1
        wait_for_value(worker.health, lambda health: health == (200, {**health[1], "status": "ok"}), timeout_s=30,
                       what="/healthz back to ok", worker=worker)
        assert worker.running()  # healed in place: no restart was needed
        listening = {conn.laddr.ip for conn in psutil.Process(worker.process.pid).net_connections(kind="inet")
                     if conn.status == psutil.CONN_LISTEN and conn.laddr.port == worker.web_port}
        assert listening == {"127.0.0.1"}  # table views and metrics are not exposed beyond the machine by default
    finally:
        worker.stop()
