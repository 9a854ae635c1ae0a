"""`--speed auto` against a real Faust worker: for 120 s the simulation paces itself by the real-time consumer
group's lag (committed offsets read with the Kafka admin client): the backlog stays bounded and the run goes
faster than real time.

The simulation is built the way `rideshare sim run`/`api` build it (rideshare.simulations), with the Kafka
sink; the worker runs the real-time topologies (dedup, GPS, surge) in its own process.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import pytest

from core.settings import PROJECT_ROOT, Settings
from rideshare.simulations import WorldOptions, build_runtime, build_sink
from rideshare.supervisor import ChildProcess, rideshare_command
from schemas.limits import AUTO_LAG_TARGET_S

pytestmark = pytest.mark.integration

RUN_S = 120
WARM_UP_S = 30  # auto starts at 1x and the worker at its first commit: judge the run after this


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Sample:
    at_s: float
    sim_time_ms: int
    lag_records: int | None
    lag_s: float | None
    factor: float


@pytest.fixture
def worker(topics: Settings) -> Iterator[Settings]:
    from streams.app import app_id_for, datadir_for

    port = _free_port()
    env = {"RIDESHARE_TOPIC_NAMESPACE": topics.topic_namespace, "RIDESHARE_LAKE_URI": topics.lake_uri}

    child = ChildProcess("worker", rideshare_command("worker", "--web-port", str(port), "--topologies", "dedup,gps,surge",
                                                     "--loglevel", "warning"),
                         PROJECT_ROOT / "test-artifacts" / "speed-auto-worker.log", env={**os.environ, **env}, cwd=PROJECT_ROOT)
    child.log_file.unlink(missing_ok=True)
    child.start()
    try:
        child.wait_for_port("127.0.0.1", port, timeout_s=90)
        yield topics
    finally:
        child.stop(timeout_s=20)
        shutil.rmtree(datadir_for(topics, app_id_for(topics), port), ignore_errors=True)


def test_auto_speed_keeps_the_workers_lag_bounded_and_runs_faster_than_real_time(worker: Settings) -> None:
    from streams.app import app_id_for

    settings = worker
    world = WorldOptions(seed=12, drivers=300, riders=2_000, start="2026-03-02T07:30:00-03:00")
    runtime = build_runtime(settings, world, build_sink(settings, "kafka"), speed="auto")
    samples: list[Sample] = []
    runtime.start()
    try:
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < RUN_S:
            status = runtime.status()
            lag = status["lag"]
            assert status["error"] is None and status["speed"] == "auto"
            assert lag["group_id"] == app_id_for(settings)  # the real-time group, nobody else's
            samples.append(Sample(elapsed, status["sim_time_ms"], lag["records"], lag["seconds"], status["auto_factor"]))
            time.sleep(1.0)
    finally:
        runtime.stop()
    # The series, for a look at how the controller moved (test-artifacts/ is ignored by git).
    (PROJECT_ROOT / "test-artifacts" / "speed-auto-samples.json").write_text(json.dumps([asdict(s) for s in samples]))
    judged = [s for s in samples if s.at_s >= WARM_UP_S]
    read = [s for s in judged if s.lag_s is not None and s.lag_records is not None]
    assert len(read) >= 0.8 * len(judged), "the lag of the worker's group could not be read"
    achieved = (judged[-1].sim_time_ms - judged[0].sim_time_ms) / 1000 / (judged[-1].at_s - judged[0].at_s)
    lag_s = [s.lag_s for s in read]
    lag_records = [s.lag_records for s in read]
    third = len(read) // 3
    summary = (f"achieved {achieved:.1f}x, factor {statistics.median(s.factor for s in judged):.1f} (median), "
               f"lag {statistics.median(lag_s):.2f} s median / {max(lag_s):.2f} s max, "
               f"records {statistics.median(lag_records):.0f} median / {max(lag_records)} max")
    print(summary)
    assert achieved > 1.0, summary
    # Bounded in seconds of the workers' work (records grow with the speed): near the target most of the time,
    # never far off, and not drifting up by the end of the run.
    assert statistics.median(lag_s) <= AUTO_LAG_TARGET_S * 1.5, summary
    assert max(lag_s) <= AUTO_LAG_TARGET_S * 5, summary
    assert statistics.median(lag_s[-third:]) <= AUTO_LAG_TARGET_S * 1.5, summary
