"""A rebalance must not leave a worker outside its group for good. After a broker restart the group
coordinator answers "loading" for a while, and an offset commit retries all that time: a revoke that
waits on it never ends, the member's session expires meanwhile, and the worker sits there, alive and
idle, with nothing in its logs. A fault hook makes the commit before a revoke never return, and a
second worker joining the group starts the rebalance.

- The revoke gives the commit up after `stream_revoke_commit_timeout_s`: the rebalance completes, and
  both workers take a share of the partitions and process it.
- If a rebalance still does not move (no new round, no table recovery), the watchdog makes the worker
  exit for its supervisor after `stream_rebalance_timeout_s`."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from core.settings import Settings
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec
from streams.health import EXIT_STALLED
from tests.faults.streams_support import produce_gps, wait_for_value
from tests.integration.bronze_support import isolated_settings

pytestmark = pytest.mark.integration

HANGING_COMMIT = {"RIDESHARE_FAULT_REVOKE_COMMIT_HANGS": "true", "RIDESHARE_STREAM_STALL_CHECK_S": "1"}
DECODE = "dedup.decode-gps"


def _shares(workers: list[WorkerProcess], topic: str) -> list[set[int]]:
    try:
        return [worker.assigned(topic) for worker in workers]
    except OSError:  # a view not answering mid-rebalance: ask again
        return [set() for _ in workers]


def test_a_revoke_whose_offset_commit_never_returns_gives_it_up_and_the_worker_keeps_a_share(
        kafka: object, redis_service: object, service_settings: Settings, tmp_path: Path) -> None:
    settings = isolated_settings(service_settings, f"revoke{uuid.uuid4().hex[:6]}", tmp_path)
    gps = topic_spec("gps").qualified(settings.topic_namespace)
    everything = set(range(topic_spec("gps").partitions))
    first = WorkerProcess(settings, topologies="dedup,gps", log_path=tmp_path / "first.log",
                          env=HANGING_COMMIT | {"RIDESHARE_STREAM_REVOKE_COMMIT_TIMEOUT_S": "3"}).start()
    second = None
    try:
        assert first.wait_assigned(gps) == everything
        second = WorkerProcess(settings, topologies="dedup,gps", log_path=tmp_path / "second.log").start()
        started = time.monotonic()
        shares = wait_for_value(lambda: _shares([first, second], gps),
                                lambda found: all(found) and not found[0] & found[1] and found[0] | found[1] == everything,
                                timeout_s=60, what="the two workers to split the partitions", worker=first)
        split_s = time.monotonic() - started
        produce_gps(settings, 960, start_ms=int(time.time() * 1000), drivers=96)  # every partition gets pings
        counts = wait_for_value(lambda: [int(w.nodes()[DECODE]["events_in"]) for w in (first, second)],
                                lambda found: sum(found) >= 960, timeout_s=60, what="both workers to read the pings",
                                worker=first)
        assert all(counts), f"each worker reads its share: {counts} for partitions {shares}"
        assert "giving the partitions up without it" in first.log_path.read_text(encoding="utf-8")
        assert first.running() and second.running()
        assert split_s < 45, f"the rebalance took {split_s:.0f} s"
    finally:
        for worker in (second, first):
            if worker is not None:
                worker.stop()


def test_a_rebalance_that_never_ends_makes_the_worker_exit_for_its_supervisor(
        kafka: object, redis_service: object, service_settings: Settings, tmp_path: Path) -> None:
    settings = isolated_settings(service_settings, f"rebal{uuid.uuid4().hex[:6]}", tmp_path)
    gps = topic_spec("gps").qualified(settings.topic_namespace)
    stuck = WorkerProcess(settings, topologies="dedup,gps", log_path=tmp_path / "stuck.log",
                          env=HANGING_COMMIT | {"RIDESHARE_STREAM_REVOKE_COMMIT_TIMEOUT_S": "600",
                                                "RIDESHARE_STREAM_REBALANCE_TIMEOUT_S": "10"}).start()
    joining = None
    try:
        stuck.wait_assigned(gps)
        joining = WorkerProcess(settings, topologies="dedup,gps", log_path=tmp_path / "joining.log").start()
        started = time.monotonic()
        wait_for_value(lambda: stuck.running(), lambda running: not running, timeout_s=60,
                       what="the worker stuck in its rebalance to exit")
        assert stuck.returncode == EXIT_STALLED
        assert time.monotonic() - started < 45
        assert "the rebalance has not moved" in stuck.log_path.read_text(encoding="utf-8")
        assert joining.running()
    finally:
        for worker in (joining, stuck):
            if worker is not None:
                worker.stop()
