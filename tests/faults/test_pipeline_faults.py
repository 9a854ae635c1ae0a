"""The pipeline broken on purpose on one broker, while a producer keeps sending: the bronze worker killed
with kill -9 three times, then the broker stopped and started again.

Both workers run under the supervisor (`WorkerPool`), which restarts a worker that exits: no test step
restarts anything. Afterwards bronze holds every offset of every event topic exactly once (and exactly
the event ids that were sent), and the real-time path came back by itself: every driver's live position
in Redis comes from a ping sent after the fault.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.settings import Settings
from rideshare.infra import KafkaService, RedisService
from streams.app import WorkerRole
from tests.faults.pipeline_support import Loads, Pipeline, ride_out_fault, wait_until
from tests.integration.bronze_support import table_version

pytestmark = pytest.mark.integration

KILLS = 3


@pytest.fixture(scope="module")
def pipeline_settings(topics: Settings, redis_service: RedisService, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Short bronze batches: many Delta commits, so a kill lands between a Delta commit and the offset commit after it.
    return topics.model_copy(update={"local_dir": tmp_path_factory.mktemp("pipeline-faults"), "bronze_batch_max_seconds": 0.5})


@pytest.fixture(scope="module")
def loads() -> Loads:
    return Loads()


@pytest.fixture(scope="module")
def pipeline(pipeline_settings: Settings) -> Iterator[Pipeline]:
    running = Pipeline(pipeline_settings, pipeline_settings.local_dir / "workers").start()
    try:
        yield running
    finally:
        running.stop()


def test_bronze_killed_three_times_mid_run_loses_and_doubles_nothing_while_the_live_map_keeps_moving(
    pipeline_settings: Settings, pipeline: Pipeline, loads: Loads
) -> None:
    s = pipeline_settings
    realtime_restarts, bronze_restarts = pipeline.restarts(WorkerRole.REALTIME), pipeline.restarts(WorkerRole.BRONZE)

    def kill_bronze_three_times() -> None:
        for kill in range(1, KILLS + 1):
            # Right after a Delta commit of bronze, before the offset commit that follows it within a second:
            # the restarted worker is handed the batch again and must not write it twice.
            version = table_version(s, "gps")
            wait_until(lambda: table_version(s, "gps") > version, timeout_s=120, poll_s=0.02,  # noqa: B023  # waited on at once
                       what=f"a bronze commit before kill {kill}")
            pipeline.kill(WorkerRole.BRONZE)
            wait_until(lambda: pipeline.restarts(WorkerRole.BRONZE) == bronze_restarts + kill, timeout_s=30,  # noqa: B023
                       what=f"the supervisor to restart bronze after kill {kill}")

    outcome = ride_out_fault(s, pipeline, loads, tag="kill", fault=kill_bronze_three_times)
    assert pipeline.restarts(WorkerRole.REALTIME) == realtime_restarts, \
        f"the real-time worker should not notice bronze's deaths\n{pipeline.logs()}"
    print(f"{KILLS} kills: {outcome}; supervisor: {pipeline.events}")


def test_a_broker_restart_mid_run_loses_and_doubles_nothing_and_the_pipeline_recovers_by_itself(
    kafka: KafkaService, pipeline_settings: Settings, pipeline: Pipeline, loads: Loads
) -> None:
    def restart_the_broker() -> None:
        kafka.stop()  # graceful stop; producer, workers and the supervisor keep running
        time.sleep(5)  # an outage while the producer keeps queueing
        kafka.start()

    outcome = ride_out_fault(pipeline_settings, pipeline, loads, tag="restart", fault=restart_the_broker)
    print(f"broker restart: {outcome}; supervisor: {pipeline.events}")
