"""Acceptance: a real simulation run -> Kafka -> the bronze topology (a real `rideshare worker
--topologies bronze` subprocess) -> `lakehouse build`, and gold reconciles exactly with the
simulation's own summary: completed trips, payments and revenue."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents_sim.params import SimConfig
from agents_sim.sinks import KafkaSink
from core.settings import Settings
from lakehouse.build import build
from lakehouse.lake import open_lake
from rideshare.infra import KafkaService
from schemas.catalog import topic_for_schema
from tests.integration.bronze_support import BronzeWorkerProcess, bronze_rows, isolated_settings, wait_for
from tests.integration.lakehouse_support import run_to_end

pytestmark = pytest.mark.integration

SIMULATED_S = 2 * 3600


def test_gold_reconciles_with_the_simulation_summary(kafka: KafkaService, settings: Settings, tmp_path: Path) -> None:
    lake = isolated_settings(settings, "lakee2e", tmp_path, bronze_batch_max_records=20_000, bronze_batch_max_seconds=1.0)
    config = SimConfig(seed=21, drivers=60, riders=1500)
    runtime = run_to_end(config, KafkaSink(lake), SIMULATED_S * 1000)
    produced = dict(runtime.sim.events.by_schema)
    overview = runtime.sim.stats.overview()
    revenue_brl = round(runtime.sim.stats.fares.total_brl, 2)
    assert overview["completed"] > 10, "the run must complete trips for the reconciliation to mean anything"
    per_topic = {topic_for_schema(schema).key: count for schema, count in produced.items()}

    worker = BronzeWorkerProcess(lake, tmp_path / "worker.log").start()
    try:
        wait_for(lambda: all(len(bronze_rows(lake, key, ["kafka_offset"])) >= count for key, count in per_topic.items()),
                 timeout_s=240, what="every simulated event in bronze", worker=worker, poll_s=2.0)
    finally:
        worker.stop()
    assert bronze_rows(lake, "dlq", ["error_type"]).empty, "the simulation's events are all valid"

    result = build(lake)
    assert result.quality is not None and result.quality.success
    with open_lake(lake) as connection:
        def one(sql: str) -> object:
            return connection.execute(sql).fetchone()[0]

        assert one("select count(*) from gold.fct_trips") == overview["completed"]
        assert one("select count(*) from gold.fct_payments") == produced["payment"]
        assert one("select round(sum(fare_brl), 2) from gold.fct_trips") == revenue_brl
        assert one("select round(sum(fare_brl), 2) from gold.fct_payments") == revenue_brl
        assert one("select count(*) from gold.fct_cancellations") == (
            overview["cancelled"] + overview["no_drivers_available"])
        assert one("select sum(requested_trips) from gold.agg_hourly_zone_demand") == overview["requests"]
        assert one("select count(distinct driver_id) from gold.dim_driver") == config.drivers
