"""Kill -9 a bronze worker in the middle of a run, restart it: every Kafka record is in bronze exactly once."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from core.producer import EventProducer
from core.settings import Settings
from rideshare.infra import KafkaService
from tests.integration.bronze_support import (
    BronzeWorkerProcess,
    assert_every_offset_exactly_once,
    bronze_rows,
    isolated_settings,
    table_version,
    wait_for,
)
from tests.unit.lakehouse.bronze_poison import valid_event

pytestmark = pytest.mark.integration

EVENTS = 30_000


def test_a_worker_killed_mid_run_and_restarted_writes_every_offset_exactly_once(
    kafka: KafkaService, settings: Settings, tmp_path: Path
) -> None:
    # Small batches over a long backlog: many commits, so the kill lands between a Delta commit and
    # the Kafka offset commit that follows it (Faust commits offsets every second).
    lake = isolated_settings(settings, "bronzekill", tmp_path, bronze_batch_max_records=1000, bronze_batch_max_seconds=0.5)
    now_ms = int(time.time() * 1000)
    producer = EventProducer(lake)
    for n in range(EVENTS):
        event = valid_event("gps_ping", n, now_ms + n)
        event["entity_id"] = f"D{n % 500:05d}"
        producer.send("gps_ping", event)
    producer.flush()

    first = BronzeWorkerProcess(lake, tmp_path / "first.log").start()
    try:
        wait_for(lambda: table_version(lake, "gps") >= 4, timeout_s=60, what="a few bronze commits", worker=first)
        seen = table_version(lake, "gps")
        wait_for(lambda: table_version(lake, "gps") > seen, timeout_s=30, what="the next commit", worker=first, poll_s=0.02)
        first.kill9()  # right after a Delta commit, before Faust's next offset commit
    finally:
        first.stop()
    rows_at_kill = len(bronze_rows(lake, "gps", ["kafka_offset"]))
    assert 0 < rows_at_kill < EVENTS, "the kill must land in the middle of the run"

    second = BronzeWorkerProcess(lake, tmp_path / "second.log").start()
    try:
        # The restarted worker waits for the dead member's session (60 s) to expire before it gets partitions.
        wait_for(lambda: len(bronze_rows(lake, "gps", ["kafka_offset"])) >= EVENTS, timeout_s=150,
                 what="the restarted worker to finish the backlog", worker=second, poll_s=1.0)
        time.sleep(2)  # a re-written batch would land now
    finally:
        second.stop()
    assert assert_every_offset_exactly_once(lake, "gps") == EVENTS
    skipped = sum(int(n) for n in re.findall(r"skipped (\d+) re-delivered records", second.log()))
    print(f"rows at kill: {rows_at_kill}; re-delivered records skipped after restart: {skipped}")
