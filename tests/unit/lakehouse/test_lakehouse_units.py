"""Lakehouse pieces that need no dbt run: the generated dbt profile and contract vars, the suite
declarations and Delta maintenance on real (local) Delta tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from deltalake import DeltaTable, write_deltalake

from core.settings import load_settings
from lakehouse.dbt_project import VALUE_BOUNDS, Engine, contract_vars, dbt_vars, write_profile
from lakehouse.maintenance import maintain_table
from lakehouse.quality.suites import QUARANTINE_TABLES, QualityContext, QualityThresholds, suite_tables
from schemas.catalog import topic_spec
from schemas.classify import classify_batch
from schemas.codec import encode
from schemas.contracts import MAX_FARE_BRL, MAX_SPEED_KMH, SURGE_CAP
from tests.unit.lakehouse.bronze_poison import kafka_key, valid_event
from tests.unit.schemas.samples import T0


def test_profile_points_both_engines_at_the_settings_lake(tmp_path: Path) -> None:
    settings = load_settings(local_dir=tmp_path / "local", lake_uri=str(tmp_path / "lake") + "/",
                             lake_storage_options={"AWS_REGION": "sa-east-1"})
    paths = write_profile(settings)
    outputs = yaml.safe_load((paths.profiles_dir / "profiles.yml").read_text())["rideshare"]["outputs"]
    duckdb_output = outputs[Engine.DUCKDB.value]
    assert duckdb_output["path"] == ":memory:"  # only a catalog of views over the lake's Delta tables
    assert duckdb_output["plugins"] == [{"module": "lakehouse.dbt_plugin", "alias": "lake",
                                         "config": {"lake_uri": str(tmp_path / "lake"), "storage_options": {"AWS_REGION": "sa-east-1"}}}]
    assert duckdb_output["settings"]["autoinstall_known_extensions"] is False
    assert outputs[Engine.SPARK.value]["method"] == "session"
    assert dbt_vars(settings)["lake_uri"] == str(tmp_path / "lake")  # no trailing slash: models append /<layer>/<model>


def _speed_rejections(*speeds_kmh: float) -> list[str]:
    """The error type the shared classification gives a GPS ping at each speed ("" when valid)."""
    events = [valid_event("gps_ping", n, T0) | {"speed_kmh": speed} for n, speed in enumerate(speeds_kmh)]
    batch = classify_batch(topic_spec("gps"), [kafka_key("gps_ping", e) for e in events], [encode("gps_ping", e) for e in events],
                           [T0] * len(events))
    reasons = {rejection.position: rejection.error_type for rejection in batch.rejections}
    return [reasons.get(position, "") for position in range(len(events))]


def test_silver_bounds_are_the_bronze_contract_so_the_layers_agree() -> None:
    bounds = contract_vars()
    assert (bounds["max_speed_kmh"], bounds["max_stars"], bounds["min_stars"]) == (MAX_SPEED_KMH, 5, 1)
    assert (bounds["surge_cap"], bounds["max_fare_brl"]) == (SURGE_CAP, MAX_FARE_BRL)
    # The highest speed silver accepts is accepted by bronze's classification; a hair above it is rejected by both.
    assert _speed_rejections(VALUE_BOUNDS.max_speed_kmh, VALUE_BOUNDS.max_speed_kmh + 0.5) == ["", "invalid_value"]
    assert len(bounds["zones"]) == 96 and {"zone_id", "zone_name", "subprefecture"} <= set(bounds["zones"][0])


def test_suites_cover_silver_gold_and_every_quarantine_table() -> None:
    silver = {check.table for check in suite_tables(("silver",))}
    gold = {check.table for check in suite_tables(("gold",))}
    assert set(QUARANTINE_TABLES) <= silver
    assert {"gold.fct_trips", "gold.fct_payments", "gold.agg_surge_history"} <= gold
    with pytest.raises(ValueError, match="unknown suite"):
        suite_tables(("bronze",))


def test_fact_trip_expectations_use_the_thresholds_and_the_data_clock() -> None:
    thresholds = QualityThresholds(surge_cap=2.5)
    check = next(check for check in suite_tables(("gold",)) if check.table == "gold.fct_trips")
    configs = [expectation.configuration for expectation in check.expectations(QualityContext(thresholds, data_now_s=10_000.0))]
    surge = next(c for c in configs if c.kwargs.get("column") == "surge_multiplier")
    freshness = next(c for c in configs if c.kwargs.get("column") == "completed_at_s")
    assert surge.kwargs["max_value"] == 2.5
    assert freshness.kwargs["min_value"] == 10_000.0 - thresholds.gold_freshness_lag_s


def test_maintenance_compacts_small_files_checkpoints_and_vacuums(tmp_path: Path) -> None:
    uri = str(tmp_path / "table")
    for batch in range(6):
        write_deltalake(uri, pa.table({"n": pa.array([batch * 10 + i for i in range(10)], pa.int64())}), mode="append")
    result = maintain_table(uri, retention_hours=0)
    assert result.files_before == 6 and result.files_after == 1
    assert result.files_compacted_away == 6 and result.files_vacuumed == 6
    assert (Path(uri) / "_delta_log" / "_last_checkpoint").exists()
    table = DeltaTable(uri)
    assert sorted(table.to_pandas()["n"]) == list(range(60))  # compaction keeps every row
