"""The real-time path breaks on nothing: poison of every kind is counted with its reason and skipped while
the valid records of the same batches are applied; an event far in the future cannot freeze a
partition's clock, not even across a restart; a second run of the same seeded session is not
deduplicated or "late" against the first."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from core.producer import EventProducer
from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec
from schemas.live_state import LiveStateKeys
from tests.faults.streams_support import log_of, metric, positions, produce_gps, wait_for_value
from tests.integration.bronze_support import bronze_rows, isolated_settings
from tests.integration.topology_events import ChannelRecorder
from tests.unit.lakehouse.bronze_poison import poison_cases

pytestmark = pytest.mark.integration

REALTIME_TOPICS = ("gps", "trips", "driver-status")
DAY_MS = 86_400_000


@pytest.fixture
def realtime_settings(kafka: object, redis_service: object, service_settings: Settings, tmp_path: Path) -> Settings:
    return isolated_settings(service_settings, f"rt{uuid.uuid4().hex[:6]}", tmp_path, stream_stall_timeout_s=600)


def all_after(found: dict[str, dict], event_time: int, drivers: int = 20) -> bool:
    """Every driver's latest closed window is from `event_time` on."""
    return len(found) == drivers and min(v["event_time"] for v in found.values()) >= event_time


def start(settings: Settings, tmp_path: Path, name: str = "realtime") -> WorkerProcess:
    worker = WorkerProcess(settings, topologies="dedup,gps,surge", log_path=tmp_path / f"{name}.log").start()
    worker.wait_assigned(topic_spec("gps").qualified(settings.topic_namespace))
    return worker


def test_every_kind_of_poison_is_counted_with_its_reason_and_valid_records_of_the_batch_are_applied(
        realtime_settings: Settings, tmp_path: Path) -> None:
    now_ms = int(time.time() * 1000)
    cases = [case for case in poison_cases(now_ms) if case.topic_key in REALTIME_TOPICS]
    assert len(cases) >= 20
    worker = start(realtime_settings, tmp_path)
    try:
        producer = produce_gps(realtime_settings, 200, start_ms=now_ms)  # valid pings before ...
        for case in cases:
            producer.send_raw(topic_spec(case.topic_key).qualified(realtime_settings.topic_namespace), case.key, case.value)
        produce_gps(realtime_settings, 200, start_ms=now_ms + 10_000, prefix="after", producer=producer)  # ... and after
        found = wait_for_value(lambda: positions(realtime_settings), lambda p: all_after(p, now_ms + 10_000),
                               timeout_s=60, what="positions of the pings after the poison", worker=worker)
        assert len(found) == 20
        expected: dict[tuple[str, str], int] = {}
        for case in cases:
            expected[(case.topic_key, case.error_type)] = expected.get((case.topic_key, case.error_type), 0) + 1
        wait_for_value(lambda: metric(worker, "rideshare_stream_decode_errors"), lambda n: n == len(cases), timeout_s=30,
                       what="every poison record counted", worker=worker)
        for (topic_key, reason), count in expected.items():
            assert metric(worker, "rideshare_stream_decode_errors", topic=topic_key, reason=reason) == count, (topic_key, reason)
        assert "Traceback" not in log_of(worker) and worker.running()
    finally:
        worker.stop()


def test_a_far_future_event_cannot_freeze_the_clock_not_even_after_a_restart(realtime_settings: Settings, tmp_path: Path) -> None:
    now_ms = int(time.time() * 1000)
    bronze = WorkerProcess(realtime_settings, role="bronze", log_path=tmp_path / "bronze.log").start()
    worker = start(realtime_settings, tmp_path)
    try:
        producer = produce_gps(realtime_settings, 100, start_ms=now_ms)
        # one driver's ping 20 days ahead: inside the broker-time bound, far outside its neighbours
        produce_gps(realtime_settings, 1, start_ms=now_ms + 20 * DAY_MS, prefix="future", producer=producer)
        produce_gps(realtime_settings, 100, start_ms=now_ms + 5_000, prefix="next", producer=producer)
        wait_for_value(lambda: positions(realtime_settings), lambda p: all_after(p, now_ms + 5_000), timeout_s=60,
                       what="windows to keep closing after the outlier", worker=worker)
        assert metric(worker, "rideshare_stream_event_time_outliers", topic="gps") == 1
        assert max(v["event_time"] for v in positions(realtime_settings).values()) < now_ms + DAY_MS
        worker.stop()
        worker = start(realtime_settings, tmp_path, "restarted")
        produce_gps(realtime_settings, 100, start_ms=now_ms + 15_000, prefix="later", producer=producer)
        wait_for_value(lambda: positions(realtime_settings), lambda p: all_after(p, now_ms + 15_000),
                       timeout_s=60, what="windows closing after the restart", worker=worker)
        dlq = wait_for_value(lambda: bronze_rows(realtime_settings, "dlq"), lambda rows: len(rows) == 1, timeout_s=60,
                             what="bronze to dead-letter the outlier", worker=bronze)
        assert list(dlq["error_type"]) == ["event_time_outlier"]
    finally:
        worker.stop()
        bronze.stop()


def test_a_second_run_of_the_same_session_gets_live_positions_like_the_first(realtime_settings: Settings, tmp_path: Path) -> None:
    now_ms = int(time.time() * 1000)
    worker = start(realtime_settings, tmp_path)
    recorder = ChannelRecorder(realtime_settings, LiveStateKeys(realtime_settings.topic_namespace).positions_channel)
    try:
        produce_gps(realtime_settings, 200, start_ms=now_ms)  # the first run (a producer = a run)
        wait_for_value(lambda: sum(len(m["positions"]) for m in recorder.messages), lambda n: n >= 180, timeout_s=60,
                       what="the first run's closed windows", worker=worker)
        first = sum(len(m["positions"]) for m in recorder.messages)
        produce_gps(realtime_settings, 200, start_ms=now_ms, producer=EventProducer(realtime_settings))  # same ids, same times
        wait_for_value(lambda: sum(len(m["positions"]) for m in recorder.messages), lambda n: n >= 2 * first, timeout_s=60,
                       what="the second run's closed windows", worker=worker)
        assert metric(worker, "rideshare_dedup_drops") == 0 and metric(worker, "rideshare_stream_late_events") == 0
    finally:
        recorder.close()
        worker.stop()
